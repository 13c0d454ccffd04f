/**
 * TaskStore: the only code that reads and writes task state in DynamoDB.
 *
 * Every state change is one UpdateItem conditioned on the task's `version` (the fence), which
 * increments the version and appends a history entry in the same write. Large payloads and results
 * live in their own items so that the state item, rewritten on every transition, stays under 1 KB.
 */
import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { readInBatches, writeInBatches } from './batch-write.ts';
import { StaleVersion, TaskNotFound } from './errors.ts';
import { decodeEvent, encodeEvent } from './history.ts';
import { DEFAULT_WRITE_SHARDS, dayOf, dayPartitionKeys, idRange, taskKey } from './ids.ts';
import { type ControlRequest, isDue, type Progress, type TaskEvent, type TaskRecord, type TaskStatus } from './model.ts';
import { type TaskAction, TRANSITIONS } from './state-machine.ts';
import { SWEEP_INDEX, SWEEP_SHARDS, sweepKey } from './sweep-index.ts';
import { toRecord } from './task-item.ts';
import { type ListFilter, type ListPage, listTasks } from './task-listing.ts';
import { ADMISSION_ACTOR } from './tenancy.ts';
import { buildUpdate, type UpdateSpec, type UpdateTarget } from './update-builder.ts';

/** Payloads and results up to this many bytes of JSON stay inside the state item. */
export const INLINE_LIMIT_BYTES = 384;

/**
 * Blob items: the payload under `payload`; each result under a key of its own (`result#<nonce>`,
 * named by the state item's `resultRef`), so an attempt that loses the version fence cannot
 * overwrite the winner's result. `resultRef: true` names the single `result` key of older items.
 */
const blobKey = (id: string, name: string) => ({ pk: `B#${id}`, id: name });
const resultBlobName = (ref: string | boolean | undefined): string => (typeof ref === 'string' ? `result#${ref}` : 'result');

/** Attributes a transition may set besides status, version, updatedAt and history. */
export type TaskChanges = Partial<Omit<TaskRecord, 'id' | 'status' | 'version' | 'updatedAt' | 'history'>>;
type RemovableField =
  | 'launchedAt'
  | 'control'
  | 'error'
  | 'notBefore'
  | 'progress'
  | 'runAt'
  | 'startedAt'
  | 'finishedAt'
  | 'checkpoint'
  | 'result'
  | 'resultRef'
  | 'sweepShard'
  | 'sweepAt'
  | 'leaseUntil'
  | 'containerRef'
  | 'controlAt'
  | 'waitingFor'
  | 'rateReservation';

export interface TransitionRequest {
  action: TaskAction;
  reason: string;
  actor: string;
  set?: TaskChanges;
  remove?: readonly RemovableField[];
  /**
   * Also require the lease to be exactly this (a recovery decided on an expired lease must not
   * land after a heartbeat renewed it: heartbeats do not change the version).
   */
  expectLease?: number;
  /**
   * Also require the control request to be exactly this (null: none). A pause or cancel request on
   * a running task does not change the version, so a decision that depends on it is fenced on it.
   */
  expectControl?: ControlRequest | null;
  /**
   * The attempt ran without a start write (a short task): `current` is still QUEUED in the table,
   * and this one write records the start and the outcome.
   */
  unstarted?: { attempt: number; startedAt: number; actor: string };
  /** The history entries to record instead of the single from → to one (a restart records RUNNING → QUEUED → RUNNING). */
  entries?: readonly { from: TaskStatus; to: TaskStatus; reason: string }[];
  now?: number;
}

export interface StartOptions {
  now?: number;
  /** More to set with the start (the attempt's lease, the container running it). */
  set?: TaskChanges;
  /** Put the lease in the sweep index (container attempts: the sweeper is their watchdog). */
  indexLease?: boolean;
}

export type StartResult = { started: TaskRecord; current?: undefined } | { started?: undefined; current: TaskRecord | undefined };

export type { ListFilter, ListPage } from './task-listing.ts';
export { isValidCursor } from './task-listing.ts';

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
    /** Partitions per day that new tasks are spread over, and that listings and reconciliation query. */
    readonly writeShards = DEFAULT_WRITE_SHARDS,
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
   * no condition is needed; unprocessed items are retried with backoff, a bounded number of times
   * (then StoreBusy: the caller retries, with an Idempotency-Key to finish the same batch).
   */
  async createMany(tasks: readonly NewTask[]): Promise<TaskRecord[]> {
    const records = await Promise.all(tasks.map((t) => this.withPayload(t)));
    await writeInBatches(
      this.db,
      this.table,
      records.map((r) => ({ PutRequest: { Item: { ...taskKey(r.id), ...r } } })),
      'tasks',
    );
    return records;
  }

  /**
   * Write tasks whose ids were reserved earlier (an idempotent replay finishing a first call that
   * died half way): one conditional put each, so a task that exists — perhaps already running — is
   * never overwritten. Returns how many were written.
   */
  async createMissing(tasks: readonly NewTask[]): Promise<number> {
    const written = await Promise.all(
      tasks.map((t) =>
        this.create(t).then(
          () => 1,
          (error: unknown) => {
            if (error instanceof ConditionalCheckFailedException) return 0;
            throw error;
          },
        ),
      ),
    );
    return written.reduce((a, b) => a + b, 0);
  }

  private async withPayload({ record, payloadJson }: NewTask): Promise<TaskRecord> {
    const withSweep = record.status === 'SCHEDULED' ? { ...record, ...sweepKey(record.id, record.runAt ?? record.createdAt) } : record;
    if (Buffer.byteLength(payloadJson) <= INLINE_LIMIT_BYTES) return { ...withSweep, payload: payloadJson };
    await this.putBlob(record.id, 'payload', payloadJson);
    return { ...withSweep, payloadRef: true };
  }

  private async putBlob(id: string, name: string, body: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...blobKey(id, name), body } }));
  }

  private async getBlob(id: string, name: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: blobKey(id, name) }));
    return out.Item?.body as string | undefined;
  }

  /** The state item, or undefined. Strongly consistent: clients expect to read their own writes. */
  async find(id: string): Promise<TaskRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: taskKey(id), ConsistentRead: true }));
    return out.Item ? toRecord(out.Item) : undefined;
  }

  /** Several state items at once (BatchGetItem, strongly consistent), by id; missing ones are absent. */
  async findMany(ids: readonly string[]): Promise<Map<string, TaskRecord>> {
    const items = await readInBatches(this.db, this.table, [...new Set(ids)].map(taskKey), 'tasks');
    return new Map(items.map((item) => [String(item.id), toRecord(item)]));
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
      task.resultRef ? this.getBlob(task.id, resultBlobName(task.resultRef)) : task.result,
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
    const unstarted = request.unstarted;
    const from = unstarted ? 'RUNNING' : current.status;
    if (!rule.from.includes(from)) {
      throw new Error(`bug: ${request.action} is not allowed from ${current.status}; decide before writing`);
    }
    const now = request.now ?? Date.now();
    const set: Record<string, unknown> = { ...request.set, status: rule.to, updatedAt: now };
    const remove: string[] = [...(request.remove ?? [])];
    if (rule.to === 'SCHEDULED') Object.assign(set, sweepKey(current.id, (set.runAt as number | undefined) ?? current.runAt ?? now));
    else if (current.status === 'SCHEDULED' || current.sweepAt !== undefined) remove.push('sweepShard', 'sweepAt');
    // A lease belongs to one attempt (or one launch): every transition ends it.
    if (current.leaseUntil !== undefined) remove.push('leaseUntil', 'containerRef');
    let orphan: string | undefined;
    if (set.result !== undefined && Buffer.byteLength(String(set.result)) > INLINE_LIMIT_BYTES) {
      const ref = randomBytes(6).toString('base64url');
      await this.putBlob(current.id, resultBlobName(ref), String(set.result));
      orphan = resultBlobName(ref);
      set.resultRef = ref;
      delete set.result;
    }
    // An entry out of RUNNING is about the attempt that ran, also when the task gives that
    // attempt back (paused, evicted, lease lost): the next start reuses the number, and an entry
    // labelled with it would read as the next attempt's.
    const attempt = from === 'RUNNING' ? (unstarted?.attempt ?? current.attempt) : ((set.attempt as number | undefined) ?? current.attempt);
    const entries = (request.entries ?? [{ from, to: rule.to, reason: request.reason }]).map((e) =>
      encodeEvent({ at: now, attempt, actor: request.actor, ...e }),
    );
    const fence = {
      ...(request.expectLease === undefined ? {} : { lease: request.expectLease }),
      ...(request.expectControl === undefined ? {} : { control: request.expectControl }),
    };
    try {
      if (!unstarted) return await this.write(current, { set, remove, entries, bumpVersion: true, ...fence });
      return await this.writeUnstarted(current, unstarted, { set, remove, entries });
    } catch (error) {
      // The write lost its fence: the result blob written for it is nobody's.
      if (orphan) await this.db.send(new DeleteCommand({ TableName: this.table, Key: blobKey(current.id, orphan) })).catch(() => {});
      throw error;
    }
  }

  /** The attempt ran without a start write (it was short): record its start and its end together. */
  private writeUnstarted(
    current: TaskRecord,
    unstarted: NonNullable<TransitionRequest['unstarted']>,
    { set, remove, entries }: { set: Record<string, unknown>; remove: string[]; entries: string[] },
  ): Promise<TaskRecord> {
    const start = encodeEvent({
      at: unstarted.startedAt,
      from: 'QUEUED',
      to: 'RUNNING',
      reason: 'start',
      attempt: unstarted.attempt,
      actor: unstarted.actor,
    });
    return this.write(current, {
      set: { attempt: unstarted.attempt, startedAt: unstarted.startedAt, claim: current.version, ...set },
      remove: [...remove, 'notBefore', 'control'],
      entries: [start, ...entries],
      bumpVersion: true,
      status: 'QUEUED',
    });
  }

  /**
   * A change that is not a transition (a control request on a running task, a new priority),
   * recorded in the history as status → same status. A running task keeps its version, so the
   * attempt's fence still holds and the worker sees the change on its next write.
   */
  async annotate(
    current: TaskRecord,
    request: Omit<TransitionRequest, 'action'> & { bumpVersion: boolean; indexLease?: boolean },
  ): Promise<TaskRecord> {
    const now = request.now ?? Date.now();
    const entry = encodeEvent({
      at: now,
      from: current.status,
      to: current.status,
      reason: request.reason,
      attempt: current.attempt,
      actor: request.actor,
    });
    return this.write(current, {
      set: { ...request.set, updatedAt: now },
      remove: [...(request.remove ?? [])],
      entries: [entry],
      bumpVersion: request.bumpVersion,
      indexLease: request.indexLease,
      ...(request.expectLease === undefined ? {} : { lease: request.expectLease }),
      ...(request.expectControl === undefined ? {} : { control: request.expectControl }),
    });
  }

  /**
   * The worker's claim on a message's (id, version): QUEUED → RUNNING, or SCHEDULED → QUEUED →
   * RUNNING for a delayed task whose time has come. Returns the new item, or the current one
   * when the message is stale (the task moved on, or this is a duplicate delivery).
   */
  async start(
    message: { id: string; v: number; a: number; h?: [string, number] },
    actor: string,
    options: StartOptions = {},
  ): Promise<StartResult> {
    const now = options.now ?? Date.now();
    const set = { ...options.set, status: 'RUNNING', attempt: message.a, startedAt: now, updatedAt: now, claim: message.v };
    const indexLease = options.indexLease ?? false;
    // A waiter handed its slot with the message ends its wait here (waitingFor goes).
    const remove = ['notBefore', 'control', 'sweepShard', 'sweepAt', 'launchedAt', 'waitingFor'];
    const entry = (from: TaskStatus, to: TaskStatus, reason: string) =>
      encodeEvent({ at: now, from, to, reason, attempt: message.a, actor });
    const handedSlot = message.h
      ? [
          encodeEvent({
            at: message.h[1],
            from: 'QUEUED',
            to: 'QUEUED',
            reason: message.h[0],
            attempt: message.a - 1,
            actor: ADMISSION_ACTOR,
          }),
        ]
      : [];
    try {
      const task = await this.write(
        { id: message.id, version: message.v, history: [] },
        { set, remove, entries: [...handedSlot, entry('QUEUED', 'RUNNING', 'start')], bumpVersion: true, status: 'QUEUED', indexLease },
      );
      return { started: task };
    } catch (error) {
      if (error instanceof TaskNotFound) return { current: undefined };
      if (!(error instanceof StaleVersion)) throw error;
      const current = error.current;
      if (!current || !isDue(current, now) || current.version !== message.v) return { current };
      try {
        const task = await this.write(current, {
          set: { ...set, queuedAt: now },
          remove,
          entries: [entry('SCHEDULED', 'QUEUED', 'due'), entry('QUEUED', 'RUNNING', 'start')],
          bumpVersion: true,
          status: 'SCHEDULED',
          indexLease,
        });
        return { started: task };
      } catch (again) {
        if (again instanceof StaleVersion) return { current: again.current };
        throw again;
      }
    }
  }

  /**
   * Record what a running attempt reports — progress, checkpoint, a heartbeat's new lease — with
   * no history entry and no version change (none of it is a transition). Returns the item, so
   * control requests reach the task without another read.
   */
  async touch(
    id: string,
    version: number,
    changes: { progress?: Progress; checkpoint?: string; leaseUntil?: number; containerRef?: string },
    options: { indexLease?: boolean; status?: TaskStatus } = {},
  ): Promise<TaskRecord> {
    const set: Record<string, unknown> = { ...changes };
    return this.write(
      { id, version, history: [] },
      { set, remove: [], entries: [], bumpVersion: false, status: options.status ?? 'RUNNING', indexLease: options.indexLease ?? false },
    );
  }

  /**
   * The task as a message about (id, version) needs to see it: an eventually consistent read
   * (half the cost), read again strongly when it looks older than the message.
   */
  async findForMessage(id: string, version: number): Promise<TaskRecord | undefined> {
    const seen = await this.peek(id);
    return seen && seen.version >= version ? seen : this.find(id);
  }

  /** An eventually consistent read (half the cost) for polling a running task's control requests. */
  async peek(id: string): Promise<TaskRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: taskKey(id), ConsistentRead: false }));
    return out.Item ? toRecord(out.Item) : undefined;
  }

  /** The one conditional UpdateItem every change goes through. */
  private async write(current: UpdateTarget, requested: UpdateSpec): Promise<TaskRecord> {
    // A new version is admitted afresh by the dispatcher: it no longer waits for what it waited for.
    const stillWaiting =
      requested.bumpVersion &&
      current.waitingFor !== undefined &&
      !('waitingFor' in requested.set) &&
      !requested.remove.includes('waitingFor');
    const spec = stillWaiting ? { ...requested, remove: [...requested.remove, 'waitingFor'] } : requested;
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: taskKey(current.id),
          ...buildUpdate(current, spec),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return toRecord(out.Attributes ?? {});
    } catch (error) {
      throw this.conditionError(error, current.id, current.version);
    }
  }

  private conditionError(error: unknown, id: string, version: number): unknown {
    if (!(error instanceof ConditionalCheckFailedException)) return error;
    if (!error.Item) return new TaskNotFound(id);
    return new StaleVersion(id, version, toRecord(unmarshall(error.Item)));
  }

  /**
   * Ids of the tasks the sweeper must look at: those in the sparse sweep index whose time
   * (runAt of a SCHEDULED task, lease of a container attempt) is at or before `until`.
   * Finished tasks are never in the index, so this costs the same however many there are.
   */
  async dueForSweep(until: number, limitPerShard = 200): Promise<string[]> {
    const shards = await Promise.all(
      Array.from({ length: SWEEP_SHARDS }, async (_, shard) => {
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: SWEEP_INDEX.name,
            KeyConditionExpression: '#shard = :shard AND #at <= :until',
            ExpressionAttributeNames: { '#shard': SWEEP_INDEX.partitionKey, '#at': SWEEP_INDEX.sortKey },
            ExpressionAttributeValues: { ':shard': `S#${shard}`, ':until': until },
            Limit: limitPerShard,
          }),
        );
        return (out.Items ?? []).map((item) => item.id as string);
      }),
    );
    return shards.flat();
  }

  /**
   * Tasks created in [from, to) whose status is one of `statuses`: a Query per day-and-shard
   * partition on the id range (ids encode their creation time), filtered by DynamoDB. Read
   * eventually consistent: the reconciliation that uses it looks at tasks long past their writes.
   */
  async createdBetween(from: number, to: number, statuses: readonly TaskStatus[]): Promise<TaskRecord[]> {
    const { low, high } = idRange(from, to);
    const found: TaskRecord[] = [];
    for (let day = Math.floor(from / DAY_MS) * DAY_MS; day < to; day += DAY_MS) {
      const perShard = await Promise.all(
        dayPartitionKeys(dayOf(day), this.writeShards).map(async (pk) => {
          const items: TaskRecord[] = [];
          let startKey: Record<string, unknown> | undefined;
          do {
            const out = await this.db.send(
              new QueryCommand({
                TableName: this.table,
                KeyConditionExpression: 'pk = :pk AND id BETWEEN :low AND :high',
                FilterExpression: `#status IN (${statuses.map((_, i) => `:s${i}`).join(', ')})`,
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':pk': pk,
                  ':low': low,
                  ':high': high,
                  ...Object.fromEntries(statuses.map((s, i) => [`:s${i}`, s])),
                },
                ExclusiveStartKey: startKey,
              }),
            );
            for (const item of out.Items ?? []) items.push(toRecord(item));
            startKey = out.LastEvaluatedKey;
          } while (startKey);
          return items;
        }),
      );
      found.push(...perShard.flat());
    }
    return found;
  }

  /** A named marker (a pass's progress): its value, or undefined. */
  async marker(name: string): Promise<number | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `M#${name}`, id: 'M' }, ConsistentRead: true }));
    return out.Item?.value as number | undefined;
  }

  /** Move a marker from `expected` (undefined: not set yet) to `value`; false when another pass moved it first. */
  async moveMarker(name: string, expected: number | undefined, value: number): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: `M#${name}`, id: 'M', value },
          ConditionExpression: expected === undefined ? 'attribute_not_exists(pk)' : '#value = :expected',
          ...(expected === undefined
            ? {}
            : { ExpressionAttributeNames: { '#value': 'value' }, ExpressionAttributeValues: { ':expected': expected } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** The task's history, oldest first. */
  async events(id: string): Promise<TaskEvent[]> {
    const task = await this.get(id);
    return task.history.map(decodeEvent);
  }

  /** Newest first (see task-listing.ts). */
  list(filter: ListFilter, now = Date.now()): Promise<ListPage> {
    return listTasks(this.db, this.table, this.listLookbackDays, this.writeShards, filter, now);
  }
}
