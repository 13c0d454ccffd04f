/**
 * ScheduleStore: schedule items, their bookkeeping and their runs, in the task table.
 *
 *   schedule  pk = SCHEDULE          id = <name>      (one partition: listing is one Query)
 *   book      pk = SRUN#<name>       id = BOOK        (last run, counts)
 *   run       pk = SRUN#<name>       id = R#<tick, ISO>[#m]   (one per tick; expires after RUN_RETENTION_DAYS)
 *
 * A definition change is a conditional put fenced by the schedule's version. A tick's run item and
 * its bookkeeping are one transaction whose put is conditional, so however often a tick is
 * delivered it is recorded, and counted, once.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { readInBatches } from './batch-write.ts';
import { conditionally } from './conditional.ts';
import { ScheduleExists, ScheduleNotFound } from './errors.ts';
import type { ScheduleBook, ScheduleRecord, ScheduleRun } from './schedules.ts';

export const SCHEDULE_PARTITION = 'SCHEDULE';
/** Run items expire through the table's TTL. */
export const RUN_RETENTION_DAYS = 90;

const scheduleKey = (name: string) => ({ pk: SCHEDULE_PARTITION, id: name });
const bookKey = (name: string) => ({ pk: `SRUN#${name}`, id: 'BOOK' });
const runKey = (name: string, tick: number, manual: boolean) => ({
  pk: `SRUN#${name}`,
  id: `R#${new Date(tick).toISOString()}${manual ? '#m' : ''}`,
});

function toSchedule(item: Record<string, unknown>): ScheduleRecord {
  const { pk: _pk, id: _id, template, ...rest } = item;
  return { ...(rest as Omit<ScheduleRecord, 'task'>), task: JSON.parse(template as string) } as ScheduleRecord;
}

function toItem(record: ScheduleRecord): Record<string, unknown> {
  const { task, ...rest } = record;
  return { ...scheduleKey(record.name), ...rest, template: JSON.stringify(task) };
}

const toBook = (item: Record<string, unknown> | undefined): ScheduleBook => ({
  created: 0,
  skipped: 0,
  ...(item ? (({ pk: _pk, id: _id, ...rest }) => rest)(item) : {}),
});

function toRun(item: Record<string, unknown>): ScheduleRun {
  const { pk: _pk, id: _id, expiresAt: _expires, ...rest } = item;
  return rest as unknown as ScheduleRun;
}

/** Someone else changed the schedule between our read and our write: read again and redo. */
export class ScheduleVersionConflict extends Error {
  override name = 'ScheduleVersionConflict';
}

export interface SchedulePage {
  items: ScheduleRecord[];
  cursor: string | null;
}

export class ScheduleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(record: ScheduleRecord): Promise<void> {
    const put = this.db.send(
      new PutCommand({ TableName: this.table, Item: toItem(record), ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    if (!(await conditionally(put))) throw new ScheduleExists(record.name);
  }

  async find(name: string): Promise<ScheduleRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: scheduleKey(name), ConsistentRead: true }));
    return out.Item ? toSchedule(out.Item) : undefined;
  }

  async get(name: string): Promise<ScheduleRecord> {
    const found = await this.find(name);
    if (!found) throw new ScheduleNotFound(name);
    return found;
  }

  /** Replace the schedule with its next version; ScheduleVersionConflict when someone else wrote first. */
  async replace(next: ScheduleRecord): Promise<void> {
    const put = this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: toItem(next),
        ConditionExpression: 'version = :expected',
        ExpressionAttributeValues: { ':expected': next.version - 1 },
      }),
    );
    if (!(await conditionally(put))) throw new ScheduleVersionConflict(next.name);
  }

  /** Delete the schedule and its bookkeeping (its tasks stay; its run items expire). */
  async delete(name: string): Promise<void> {
    const deleted = this.db.send(
      new DeleteCommand({ TableName: this.table, Key: scheduleKey(name), ConditionExpression: 'attribute_exists(pk)' }),
    );
    if (!(await conditionally(deleted))) throw new ScheduleNotFound(name);
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: bookKey(name) }));
  }

  async list(limit: number, cursor?: string): Promise<SchedulePage> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': SCHEDULE_PARTITION },
        Limit: limit,
        ExclusiveStartKey: cursor ? scheduleKey(cursor) : undefined,
      }),
    );
    const items = (out.Items ?? []).map(toSchedule);
    return { items, cursor: out.LastEvaluatedKey ? String(out.LastEvaluatedKey.id) : null };
  }

  /** Every schedule (the repair pass). */
  async all(): Promise<ScheduleRecord[]> {
    const all: ScheduleRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(100, cursor);
      all.push(...page.items);
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return all;
  }

  /** The bookkeeping of each named schedule (one BatchGetItem per 100 names). */
  async books(names: readonly string[]): Promise<Map<string, ScheduleBook>> {
    const found = new Map<string, ScheduleBook>(names.map((n) => [n, toBook(undefined)]));
    for (const item of await readInBatches(this.db, this.table, names.map(bookKey), 'schedule books'))
      found.set(String(item.pk).slice('SRUN#'.length), toBook(item));
    return found;
  }

  /** What a tick needs to know, in one request: the schedule, its bookkeeping, and whether the tick was recorded. */
  async forTick(
    name: string,
    tick: number,
    manual: boolean,
  ): Promise<{ schedule?: ScheduleRecord; book: ScheduleBook; run?: ScheduleRun }> {
    const wanted = [scheduleKey(name), bookKey(name), runKey(name, tick, manual)];
    const items = await readInBatches(this.db, this.table, wanted, 'schedule items');
    const pick = (key: { pk: string; id: string }) => items.find((i) => i.pk === key.pk && i.id === key.id);
    const schedule = pick(wanted[0]);
    const run = pick(wanted[2]);
    return { schedule: schedule && toSchedule(schedule), book: toBook(pick(wanted[1])), run: run && toRun(run) };
  }

  /**
   * Record a tick's outcome and count it, once: false when the tick was already recorded (a
   * redelivery). A created tick also becomes the schedule's last run.
   */
  async recordRun(name: string, run: ScheduleRun): Promise<boolean> {
    const counter = run.kind === 'created' ? 'created' : 'skipped';
    const last = run.kind === 'created' ? ', lastTick = :tick, lastTaskId = :task, lastRunAt = :at' : '';
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { ...runKey(name, run.tick, run.manual), ...run, expiresAt: Math.floor(run.at / 1000) + RUN_RETENTION_DAYS * 86400 },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: bookKey(name),
                UpdateExpression: `SET #counter = if_not_exists(#counter, :zero) + :one${last}`,
                ExpressionAttributeNames: { '#counter': counter },
                ExpressionAttributeValues: {
                  ':zero': 0,
                  ':one': 1,
                  ...(run.kind === 'created' ? { ':tick': run.tick, ':task': run.taskId, ':at': run.at } : {}),
                },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
      throw error;
    }
  }

  /** Runs newest first; the cursor names the last run returned. */
  async runs(name: string, limit: number, cursor?: string): Promise<{ items: ScheduleRun[]; cursor: string | null }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(id, :prefix)',
        ExpressionAttributeValues: { ':pk': `SRUN#${name}`, ':prefix': 'R#' },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: cursor ? { pk: `SRUN#${name}`, id: `R#${cursor}` } : undefined,
      }),
    );
    const next = out.LastEvaluatedKey ? String(out.LastEvaluatedKey.id).slice(2) : null;
    return { items: (out.Items ?? []).map(toRun), cursor: next };
  }
}
