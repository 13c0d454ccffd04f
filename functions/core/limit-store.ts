/**
 * LimitStore: limits in the task table.
 *
 *   definition  pk = LIMITDEF          id = <scope>#<key>   (what the API set; one partition, cached)
 *   state       pk = LIMIT#<limit id>  id = STATE           (holders, rate log: a partition per limit)
 *   waiter      pk = WAIT#<limit id>   id = <rank>#<queuedAt>#<task id>   (oldest first within priority)
 *
 * A slot is one attribute per holder (`h_<task id>`) and a count `n`, changed by conditional
 * writes: taking is idempotent (a task that holds it holds it), releasing is idempotent, and a
 * release that wakes a waiter hands the slot over in the same write.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { writeInBatches } from './batch-write.ts';
import { conditionally } from './conditional.ts';
import { PRIORITY_RANK, type Priority, type TaskRecord } from './model.ts';
import { LIMIT_DEFINITIONS_PARTITION, type LimitDefinition, type Rate } from './tenancy.ts';

const DEFINITIONS = LIMIT_DEFINITIONS_PARTITION;
const stateKey = (id: string) => ({ pk: `LIMIT#${id}`, id: 'STATE' });
const holder = (taskId: string) => `h_${taskId}`;

export interface Waiter {
  sortKey: string;
  taskId: string;
}

export type TakeResult = { kind: 'taken' } | { kind: 'held' } | { kind: 'full'; holders: { taskId: string; since: number }[] };

/** The rate state of a limit: its recent starts (within a period) and the next reservable time. */
export interface RateState {
  recent: number[];
  tat?: number;
  rv: number;
}

export interface LimitUsage {
  running: number;
  startsInPeriod: number;
  waiting: number;
}

export const waiterSortKey = (priority: Priority, queuedAt: number, taskId: string): string =>
  `${PRIORITY_RANK[priority]}#${String(queuedAt).padStart(15, '0')}#${taskId}`;

/** The waiter item's sort key of a task: its priority, then the order it was queued in. */
export const waiterSortKeyOf = (task: Pick<TaskRecord, 'priority' | 'queuedAt' | 'createdAt' | 'id'>): string =>
  waiterSortKey(task.priority, task.queuedAt ?? task.createdAt, task.id);

/** Where a task that says it waits for a slot stands: see LimitStore.standing. */
export type WaiterStanding = 'parked' | 'holding' | 'neither';

/** When the task a waiter item stands for was queued. */
export const waiterQueuedAt = (sortKey: string): number => Number(sortKey.split('#')[1]);

/** Slots moved in one hand-over write (its expression stays well under DynamoDB's 4 KB). */
export const HAND_OVER_MAX = 20;

export class LimitStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  // ── definitions ────────────────────────────────────────────────────────────────────────────
  async definitions(): Promise<LimitDefinition[]> {
    const { items } = await this.queryAll(DEFINITIONS);
    return items.map(({ pk: _pk, id: _id, ...rest }) => rest as unknown as LimitDefinition);
  }

  async definition(scope: string, key: string): Promise<LimitDefinition | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: DEFINITIONS, id: `${scope}#${key}` }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, id: _id, ...rest } = out.Item;
    return rest as LimitDefinition;
  }

  async putDefinition(definition: LimitDefinition): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: this.table, Item: { pk: DEFINITIONS, id: `${definition.scope}#${definition.key}`, ...definition } }),
    );
  }

  /** false when there was none. */
  async deleteDefinition(scope: string, key: string): Promise<boolean> {
    return conditionally(
      this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: DEFINITIONS, id: `${scope}#${key}` },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      ),
    );
  }

  // ── slots ──────────────────────────────────────────────────────────────────────────────────
  async take(id: string, limit: number, taskId: string, now: number): Promise<TakeResult> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(id),
          UpdateExpression: 'SET #h = :now ADD n :one',
          ConditionExpression: 'attribute_not_exists(#h) AND (attribute_not_exists(n) OR n < :limit)',
          ExpressionAttributeNames: { '#h': holder(taskId) },
          ExpressionAttributeValues: { ':now': now, ':one': 1, ':limit': limit },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'taken' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The failed condition's item comes back in DynamoDB's wire shape.
      const item = error.Item ? (unmarshall(error.Item) as Record<string, unknown>) : {};
      if (holder(taskId) in item) return { kind: 'held' };
      return { kind: 'full', holders: holdersOf(item) };
    }
  }

  /**
   * Take slots for as many of `taskIds`, from the first, as the limit has room for, up to 40 a
   * write (expressions are limited to 4 KB; a write takes its tasks all or none). Optimistic: a
   * chunk is written as if the limit had room for it, and one that does not fit fails its
   * condition with the item, whose count says how many do — so a batch that fits costs one write
   * and no read, and one that does not, the read it would have cost anyway. Returns how many,
   * from the first, now hold a slot (after the count was seen, a race lost stops there).
   */
  async takeMany(id: string, limit: number, taskIds: readonly string[], now: number): Promise<number> {
    let taken = 0;
    let room = limit; // until the item says otherwise
    let seen = false;
    while (taken < taskIds.length && room > 0) {
      const chunk = taskIds.slice(taken, taken + Math.min(40, room));
      const running = await this.takeChunk(id, limit, chunk, now);
      if (running === undefined) {
        taken += chunk.length;
        room -= chunk.length;
        continue;
      }
      if (seen) return taken;
      seen = true;
      room = limit - running;
    }
    return taken;
  }

  /** Take a slot for every task of `chunk` in one write; undefined when taken, else the count the limit was found with. */
  private async takeChunk(id: string, limit: number, chunk: readonly string[], now: number): Promise<number | undefined> {
    const names = Object.fromEntries(chunk.map((t, n) => [`#h${n}`, holder(t)]));
    const placeholders = Object.keys(names);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(id),
          UpdateExpression: `SET ${placeholders.map((n) => `${n} = :now`).join(', ')} ADD n :k`,
          ConditionExpression: `${placeholders.map((n) => `attribute_not_exists(${n})`).join(' AND ')} AND (attribute_not_exists(n) OR n <= :most)`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':now': now, ':k': chunk.length, ':most': limit - chunk.length },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const item = error.Item ? (unmarshall(error.Item) as Record<string, unknown>) : {};
      return Number(item.n ?? 0);
    }
  }

  /** Give a slot back; false when the task did not hold it. */
  async release(id: string, taskId: string): Promise<boolean> {
    return conditionally(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(id),
          UpdateExpression: 'REMOVE #h ADD n :minus',
          ConditionExpression: 'attribute_exists(#h)',
          ExpressionAttributeNames: { '#h': holder(taskId) },
          ExpressionAttributeValues: { ':minus': -1 },
        }),
      ),
    );
  }

  /** Move a slot from one task to another in one write; false when `from` did not hold it or `to` already does. */
  async handOver(id: string, from: string, to: string, now: number): Promise<boolean> {
    return conditionally(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(id),
          UpdateExpression: 'REMOVE #from SET #to = :now',
          ConditionExpression: 'attribute_exists(#from) AND attribute_not_exists(#to)',
          ExpressionAttributeNames: { '#from': holder(from), '#to': holder(to) },
          ExpressionAttributeValues: { ':now': now },
        }),
      ),
    );
  }

  /**
   * Move several slots in one write (all or none, up to HAND_OVER_MAX pairs): false when a `from`
   * did not hold its slot or a `to` already holds one.
   */
  async handOverMany(id: string, pairs: readonly { from: string; to: string }[], now: number): Promise<boolean> {
    if (pairs.length === 0 || pairs.length > HAND_OVER_MAX) return false;
    const names = Object.fromEntries(
      pairs.flatMap((p, i) => [
        [`#f${i}`, holder(p.from)],
        [`#t${i}`, holder(p.to)],
      ]),
    );
    return conditionally(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(id),
          UpdateExpression: `REMOVE ${pairs.map((_, i) => `#f${i}`).join(', ')} SET ${pairs.map((_, i) => `#t${i} = :now`).join(', ')}`,
          ConditionExpression: pairs.map((_, i) => `attribute_exists(#f${i}) AND attribute_not_exists(#t${i})`).join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':now': now },
        }),
      ),
    );
  }

  async state(id: string): Promise<{ running: number; holders: { taskId: string; since: number }[]; rate: RateState }> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: stateKey(id), ConsistentRead: true }));
    const item = out.Item ?? {};
    return { running: Number(item.n ?? 0), holders: holdersOf(item), rate: rateOf(item) };
  }

  // ── waiters ────────────────────────────────────────────────────────────────────────────────
  async park(id: string, waiter: Waiter): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `WAIT#${id}`, id: waiter.sortKey, taskId: waiter.taskId } }));
  }

  /** Write many waiter items (BatchWriteItem, see batch-write.ts). */
  async parkMany(id: string, waiters: readonly Waiter[]): Promise<void> {
    await writeInBatches(
      this.db,
      this.table,
      waiters.map((w) => ({ PutRequest: { Item: { pk: `WAIT#${id}`, id: w.sortKey, taskId: w.taskId } } })),
    );
  }

  /** Remove many waiter items (BatchWriteItem, see batch-write.ts). */
  async unparkMany(id: string, sortKeys: readonly string[]): Promise<void> {
    if (sortKeys.length === 1) return this.unpark(id, sortKeys[0]); // one DeleteItem, not a batch write
    await writeInBatches(
      this.db,
      this.table,
      sortKeys.map((sortKey) => ({ DeleteRequest: { Key: { pk: `WAIT#${id}`, id: sortKey } } })),
    );
  }

  async unpark(id: string, sortKey: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: `WAIT#${id}`, id: sortKey } }));
  }

  /**
   * Where a task that says it waits stands on these limits (consistent reads of its waiter items
   * and of its slots): parked (a waiter item is there), holding a slot (handed one), or neither.
   */
  async standing(ids: readonly string[], task: Pick<TaskRecord, 'priority' | 'queuedAt' | 'createdAt' | 'id'>): Promise<WaiterStanding> {
    const exists = async (key: Record<string, string>, attribute: string) => {
      const out = await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: key,
          ConsistentRead: true,
          ProjectionExpression: '#a',
          ExpressionAttributeNames: { '#a': attribute },
        }),
      );
      return out.Item?.[attribute] !== undefined;
    };
    const sortKey = waiterSortKeyOf(task);
    const [parked, holding] = await Promise.all([
      Promise.all(ids.map((id) => exists({ pk: `WAIT#${id}`, id: sortKey }, 'taskId'))),
      Promise.all(ids.map((id) => exists(stateKey(id), holder(task.id)))),
    ]);
    return parked.includes(true) ? 'parked' : holding.includes(true) ? 'holding' : 'neither';
  }

  /** The oldest waiters, from the first or from after the waiter `after` (a sort key). */
  async oldestWaiters(id: string, count: number, after?: string): Promise<Waiter[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `WAIT#${id}` },
        ConsistentRead: true,
        Limit: count,
        ...(after ? { ExclusiveStartKey: { pk: `WAIT#${id}`, id: after } } : {}),
      }),
    );
    return (out.Items ?? []).map((i) => ({ sortKey: String(i.id), taskId: String(i.taskId) }));
  }

  async waiting(id: string): Promise<number> {
    return (await this.queryAll(`WAIT#${id}`, 'COUNT')).count;
  }

  /** Every item of a partition (or, with COUNT, how many), page by page. */
  private async queryAll(pk: string, select?: 'COUNT'): Promise<{ items: Record<string, unknown>[]; count: number }> {
    const items: Record<string, unknown>[] = [];
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          Select: select,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(out.Items ?? []));
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return { items, count };
  }

  // ── rate ───────────────────────────────────────────────────────────────────────────────────
  async rateState(id: string): Promise<RateState> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: stateKey(id), ConsistentRead: true, ProjectionExpression: 'recent, tat, rv' }),
    );
    return rateOf(out.Item ?? {});
  }

  /** Write the next rate state; false when someone else wrote since `expected` was read. */
  async writeRate(id: string, next: Omit<RateState, 'rv'>, expectedRv: number): Promise<boolean> {
    return conditionally(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: stateKey(id),
          UpdateExpression: next.tat === undefined ? 'SET recent = :recent, rv = :next' : 'SET recent = :recent, rv = :next, tat = :tat',
          ConditionExpression: expectedRv === 0 ? 'attribute_not_exists(rv)' : 'rv = :rv',
          ExpressionAttributeValues: {
            ':recent': next.recent,
            ':next': expectedRv + 1,
            ...(expectedRv === 0 ? {} : { ':rv': expectedRv }),
            ...(next.tat === undefined ? {} : { ':tat': next.tat }),
          },
        }),
      ),
    );
  }
}

function holdersOf(item: Record<string, unknown>): { taskId: string; since: number }[] {
  return Object.entries(item)
    .filter(([k]) => k.startsWith('h_'))
    .map(([k, v]) => ({ taskId: k.slice(2), since: Number(v) }))
    .sort((a, b) => a.since - b.since);
}

const rateOf = (item: Record<string, unknown>): RateState => ({
  recent: ((item.recent as number[] | undefined) ?? []).map(Number),
  ...(item.tat !== undefined ? { tat: Number(item.tat) } : {}),
  rv: Number(item.rv ?? 0),
});

export type { Rate };
