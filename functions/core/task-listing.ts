/**
 * Listing tasks newest first: a Query per day partition and shard (ids encode both), merged, with
 * filters applied by DynamoDB and an opaque cursor. No index: listing costs reads, never writes —
 * one Query per shard for each day a page walks, so more write shards make every page dearer.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createdAtOf, dayOf, dayPartitionKeys } from './ids.ts';
import { DEFAULT_TENANT, type Priority, type TaskRecord, type TaskStatus } from './model.ts';
import { toRecord } from './task-item.ts';

const DAY_MS = 86_400_000;

/** The filters `list` takes, and the stored attribute each one compares. */
const FILTER_ATTRIBUTES = [
  ['status', 'status'],
  ['priority', 'priority'],
  ['type', 'type'],
  ['schedule', 'scheduleName'],
] as const satisfies readonly (readonly [keyof ListFilter, keyof TaskRecord])[];

export interface ListFilter {
  status?: TaskStatus;
  priority?: Priority;
  type?: string;
  /** Tasks a schedule created. */
  schedule?: string;
  /** Tasks of a tenant (`default`: those submitted without one). */
  tenant?: string;
  limit: number;
  cursor?: string;
}

export interface ListPage {
  items: TaskRecord[];
  cursor: string | null;
}

/**
 * Newest first. Walks day partitions backwards from today (or the cursor), querying the shards
 * of a day in parallel and merging them; filters are applied by DynamoDB.
 */
export async function listTasks(
  db: DynamoDBDocumentClient,
  table: string,
  lookbackDays: number,
  /** The deployment's write shards: a day's tasks are in this many partitions. */
  shards: number,
  filter: ListFilter,
  now = Date.now(),
): Promise<ListPage> {
  const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
  const startDay = after ? after.day : dayOf(now);
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const clauses: string[] = [];
  for (const [field, attribute] of FILTER_ATTRIBUTES) {
    const value = filter[field];
    if (value === undefined) continue;
    names[`#${field}`] = attribute;
    values[`:${field}`] = value;
    clauses.push(`#${field} = :${field}`);
  }
  if (filter.tenant !== undefined) {
    names['#tenant'] = 'tenant';
    if (filter.tenant === DEFAULT_TENANT) clauses.push('attribute_not_exists(#tenant)');
    else {
      values[':tenant'] = filter.tenant;
      clauses.push('#tenant = :tenant');
    }
  }
  const items: TaskRecord[] = [];
  let dayMs = Date.parse(`${startDay.slice(0, 4)}-${startDay.slice(4, 6)}-${startDay.slice(6, 8)}T00:00:00Z`);
  for (let d = 0; d < lookbackDays && items.length < filter.limit; d++, dayMs -= DAY_MS) {
    const day = dayOf(dayMs);
    const below = after && day === after.day ? after.id : undefined;
    const perShard = await Promise.all(
      dayPartitionKeys(day, shards).map((pk) => queryPartition(db, table, pk, filter.limit - items.length, below, clauses, names, values)),
    );
    const merged = perShard.flat().sort((a, b) => (a.id < b.id ? 1 : -1));
    items.push(...merged.slice(0, filter.limit - items.length));
  }
  const last = items.at(-1);
  const cursor = items.length === filter.limit && last ? encodeCursor(dayOf(createdAtOf(last.id)), last.id) : null;
  return { items, cursor };
}

async function queryPartition(
  db: DynamoDBDocumentClient,
  table: string,
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
    const out = await db.send(
      new QueryCommand({
        TableName: table,
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
