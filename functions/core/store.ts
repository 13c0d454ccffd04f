/**
 * TaskStore: the only code that reads and writes task state in DynamoDB.
 *
 * Every state change is one UpdateItem conditioned on the task's `version` (the fence), which
 * increments the version and appends a history entry in the same write. Large payloads and results
 * live in their own items so that the state item, rewritten on every transition, stays under 1 KB.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StaleVersion, TaskNotFound } from './errors.ts';
import { decodeEvent, encodeEvent, HISTORY_CAP } from './history.ts';
import { dayOf, partitionKey, SHARDS, taskKey } from './ids.ts';
import type { Priority, Progress, TaskEvent, TaskRecord, TaskStatus } from './model.ts';
import { type TaskAction, TRANSITIONS } from './state-machine.ts';

/** Payloads and results up to this many bytes of JSON stay inside the state item. */
export const INLINE_LIMIT_BYTES = 384;

const blobKey = (id: string, kind: 'payload' | 'result') => ({ pk: `B#${id}`, id: kind });

/** Attributes a transition may set besides status, version, updatedAt and history. */
export type TaskChanges = Partial<Omit<TaskRecord, 'id' | 'status' | 'version' | 'updatedAt' | 'history'>>;
type RemovableField =
  | 'control'
  | 'error'
  | 'notBefore'
  | 'progress'
  | 'runAt'
  | 'startedAt'
  | 'finishedAt'
  | 'checkpoint'
  | 'result'
  | 'resultRef';

export interface TransitionRequest {
  action: TaskAction;
  reason: string;
  actor: string;
  set?: TaskChanges;
  remove?: readonly RemovableField[];
  now?: number;
}

export interface ListFilter {
  status?: TaskStatus;
  priority?: Priority;
  type?: string;
  limit: number;
  cursor?: string;
}

export interface ListPage {
  items: TaskRecord[];
  cursor: string | null;
}

export interface NewTask {
  record: TaskRecord;
  /** The payload's JSON text; stored inline or in a blob item depending on its size. */
  payloadJson: string;
}

const DAY_MS = 86_400_000;

export class TaskStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** How many days back `list` walks when looking for older tasks. */
    private readonly listLookbackDays = 30,
  ) {}

  /** Write a new task (conditional: the id must be new). Returns the stored record. */
  async create(task: NewTask): Promise<TaskRecord> {
    const record = await this.withPayload(task);
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...taskKey(record.id), ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return record;
  }

  /**
   * Write many new tasks with BatchWriteItem (25 per request). Fresh random ids cannot collide, so
   * no condition is needed; unprocessed items are retried with backoff until all are stored.
   */
  async createMany(tasks: readonly NewTask[]): Promise<TaskRecord[]> {
    const records = await Promise.all(tasks.map((t) => this.withPayload(t)));
    for (let i = 0; i < records.length; i += 25) {
      let pending = records.slice(i, i + 25).map((r) => ({ PutRequest: { Item: { ...taskKey(r.id), ...r } } }));
      for (let round = 0; pending.length > 0; round++) {
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (out.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        if (pending.length > 0) await sleep(Math.min(1000, 25 * 2 ** round));
      }
    }
    return records;
  }

  private async withPayload({ record, payloadJson }: NewTask): Promise<TaskRecord> {
    if (Buffer.byteLength(payloadJson) <= INLINE_LIMIT_BYTES) return { ...record, payload: payloadJson };
    await this.putBlob(record.id, 'payload', payloadJson);
    return { ...record, payloadRef: true };
  }

  private async putBlob(id: string, kind: 'payload' | 'result', body: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...blobKey(id, kind), body } }));
  }

  private async getBlob(id: string, kind: 'payload' | 'result'): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: blobKey(id, kind) }));
    return out.Item?.body as string | undefined;
  }

  /** The state item, or undefined. Strongly consistent: clients expect to read their own writes. */
  async find(id: string): Promise<TaskRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: taskKey(id), ConsistentRead: true }));
    return out.Item ? toRecord(out.Item) : undefined;
  }

  async get(id: string): Promise<TaskRecord> {
    const task = await this.find(id);
    if (!task) throw new TaskNotFound(id);
    return task;
  }

  /** Fill in payload and result from their blob items when they are stored outside the state item. */
  async resolve(task: TaskRecord): Promise<TaskRecord> {
    const [payload, result] = await Promise.all([
      task.payloadRef ? this.getBlob(task.id, 'payload') : task.payload,
      task.resultRef ? this.getBlob(task.id, 'result') : task.result,
    ]);
    return { ...task, payload, result };
  }

  /**
   * Apply one transition of the state machine to a task whose current state the caller knows.
   * One conditional write guarded by `version`; throws StaleVersion (with the current item) when
   * someone else wrote first, TaskNotFound when the item is gone.
   */
  async transition(current: TaskRecord, request: TransitionRequest): Promise<TaskRecord> {
    const rule = TRANSITIONS[request.action];
    if (!rule.from.includes(current.status)) {
      throw new Error(`bug: ${request.action} is not allowed from ${current.status}; decide before writing`);
    }
    const now = request.now ?? Date.now();
    const entry = encodeEvent({
      at: now,
      from: current.status,
      to: rule.to,
      reason: request.reason,
      attempt: request.set?.attempt ?? current.attempt,
      actor: request.actor,
    });
    const set: Record<string, unknown> = { ...request.set, status: rule.to, updatedAt: now };
    let appendHistory = true;
    if (current.history.length >= HISTORY_CAP) {
      const keep = current.history.slice(current.history.length - HISTORY_CAP + 1);
      set.history = [...keep, entry];
      set.historyDropped = (current.historyDropped ?? 0) + current.history.length - keep.length;
      appendHistory = false;
    }
    if (set.result !== undefined && Buffer.byteLength(String(set.result)) > INLINE_LIMIT_BYTES) {
      await this.putBlob(current.id, 'result', String(set.result));
      set.resultRef = true;
      delete set.result;
    }
    return this.update(current.id, current.version, set, request.remove ?? [], appendHistory ? entry : undefined);
  }

  /**
   * QUEUED → RUNNING for a message's (id, version): the worker's claim on the task. Returns the
   * new item, or undefined when the message is stale (the task moved on: paused, cancelled,
   * reprioritised, or this is a duplicate delivery).
   */
  async start(id: string, version: number, attempt: number, actor: string, now = Date.now()): Promise<TaskRecord | undefined> {
    const entry = encodeEvent({ at: now, from: 'QUEUED', to: 'RUNNING', reason: 'start', attempt, actor });
    try {
      return await this.update(
        id,
        version,
        { status: 'RUNNING', attempt, startedAt: now, updatedAt: now },
        ['notBefore', 'error', 'control'],
        entry,
        'QUEUED',
      );
    } catch (error) {
      if (error instanceof StaleVersion || error instanceof TaskNotFound) return undefined;
      throw error;
    }
  }

  /**
   * Record progress of a running attempt (no history entry, no version change: progress is not a
   * transition). Returns the item so control requests reach the task without another read.
   */
  async progress(id: string, version: number, progress: Progress, checkpoint?: string): Promise<TaskRecord> {
    const values: Record<string, unknown> = { ':v': version, ':p': progress, ':running': 'RUNNING' };
    let expression = 'SET progress = :p';
    if (checkpoint !== undefined) {
      expression += ', checkpoint = :c';
      values[':c'] = checkpoint;
    }
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(id),
          UpdateExpression: expression,
          ConditionExpression: 'version = :v AND #status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toRecord(out.Attributes ?? {});
    } catch (error) {
      throw this.conditionError(error, id, version);
    }
  }

  private async update(
    id: string,
    version: number,
    set: Record<string, unknown>,
    remove: readonly string[],
    historyEntry: string | undefined,
    requiredStatus?: TaskStatus,
  ): Promise<TaskRecord> {
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':v': version, ':one': 1 };
    const assignments = ['#version = #version + :one'];
    for (const [field, value] of Object.entries(set)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      assignments.push(`#${field} = :${field}`);
    }
    if (historyEntry !== undefined) {
      names['#history'] = 'history';
      values[':entry'] = [historyEntry];
      assignments.push('#history = list_append(#history, :entry)');
    }
    const removals = remove.filter((field) => set[field] === undefined);
    for (const field of removals) names[`#${field}`] = field;
    let condition = '#version = :v';
    if (requiredStatus) {
      names['#status'] = 'status';
      values[':required'] = requiredStatus;
      condition += ' AND #status = :required';
    }
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(id),
          UpdateExpression: `SET ${assignments.join(', ')}${removals.length ? ` REMOVE ${removals.map((f) => `#${f}`).join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toRecord(out.Attributes ?? {});
    } catch (error) {
      throw this.conditionError(error, id, version);
    }
  }

  private conditionError(error: unknown, id: string, version: number): unknown {
    if (!(error instanceof ConditionalCheckFailedException)) return error;
    if (!error.Item) return new TaskNotFound(id);
    return new StaleVersion(id, version, toRecord(unmarshall(error.Item)));
  }

  /** The task's history, oldest first. */
  async events(id: string): Promise<TaskEvent[]> {
    const task = await this.get(id);
    return task.history.map(decodeEvent);
  }

  /**
   * Newest first. Walks day partitions backwards from today (or the cursor), querying the shards
   * of a day in parallel and merging them; filters are applied by DynamoDB.
   */
  async list(filter: ListFilter, now = Date.now()): Promise<ListPage> {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const startDay = after ? after.day : dayOf(now);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const clauses: string[] = [];
    for (const field of ['status', 'priority', 'type'] as const) {
      const value = filter[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      clauses.push(`#${field} = :${field}`);
    }
    const items: TaskRecord[] = [];
    let dayMs = Date.parse(`${startDay.slice(0, 4)}-${startDay.slice(4, 6)}-${startDay.slice(6, 8)}T00:00:00Z`);
    for (let d = 0; d < this.listLookbackDays && items.length < filter.limit; d++, dayMs -= DAY_MS) {
      const day = dayOf(dayMs);
      const below = after && day === after.day ? after.id : undefined;
      const perShard = await Promise.all(
        Array.from({ length: SHARDS }, (_, shard) =>
          this.queryPartition(partitionKey(day, shard), filter.limit - items.length, below, clauses, names, values),
        ),
      );
      const merged = perShard.flat().sort((a, b) => (a.id < b.id ? 1 : -1));
      items.push(...merged.slice(0, filter.limit - items.length));
    }
    const last = items.at(-1);
    const cursor = items.length === filter.limit && last ? encodeCursor(dayOf(last.createdAt), last.id) : null;
    return { items, cursor };
  }

  private async queryPartition(
    pk: string,
    limit: number,
    below: string | undefined,
    clauses: string[],
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<TaskRecord[]> {
    const found: TaskRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: below ? 'pk = :pk AND id < :below' : 'pk = :pk',
          FilterExpression: clauses.length ? clauses.join(' AND ') : undefined,
          ExpressionAttributeNames: clauses.length ? names : undefined,
          ExpressionAttributeValues: { ':pk': pk, ...(below ? { ':below': below } : {}), ...values },
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) found.push(toRecord(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey && found.length < limit);
    return found.slice(0, limit);
  }
}

function toRecord(item: Record<string, unknown>): TaskRecord {
  const { pk: _pk, ...rest } = item;
  return rest as unknown as TaskRecord;
}

const encodeCursor = (day: string, id: string): string => Buffer.from(JSON.stringify({ day, id })).toString('base64url');

function decodeCursor(cursor: string): { day: string; id: string } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { day?: unknown; id?: unknown };
    if (typeof parsed.day === 'string' && /^\d{8}$/.test(parsed.day) && typeof parsed.id === 'string') {
      return { day: parsed.day, id: parsed.id };
    }
  } catch {
    // fall through: an unreadable cursor is the caller's error, reported by the intake
  }
  return undefined;
}

export const isValidCursor = (cursor: string): boolean => decodeCursor(cursor) !== undefined;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
