/**
 * BatchWriteItem and BatchGetItem for any items of the table: 25 writes or 100 reads a call, the
 * unprocessed ones retried with backoff a bounded number of times (about 6 s in all), then
 * StoreBusy — the caller retries (the intake answers 503, a stream batch is retried), so a
 * throttled table never spins a caller.
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreBusy } from './errors.ts';

/** Rounds before giving up on unprocessed items. */
const UNPROCESSED_RETRIES = 10;

type WriteRequest = NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string][number];

export async function writeInBatches(
  db: DynamoDBDocumentClient,
  table: string,
  requests: readonly WriteRequest[],
  what = 'items',
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let round = 0; pending.length > 0; round++) {
      await backOff(round, pending.length, `${what} were not stored`);
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
    }
  }
}

async function backOff(round: number, pending: number, what: string): Promise<void> {
  if (round === UNPROCESSED_RETRIES) throw new StoreBusy(`${pending} ${what} after ${round} tries`);
  if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
}

/** The items at these keys that exist (strongly consistent reads, any order), 100 keys a call. */
export async function readInBatches(
  db: DynamoDBDocumentClient,
  table: string,
  keys: readonly Record<string, unknown>[],
  what = 'items',
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending = keys.slice(i, i + 100);
    for (let round = 0; pending.length > 0; round++) {
      await backOff(round, pending.length, `${what} were not read`);
      const out = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      items.push(...(out.Responses?.[table] ?? []));
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return items;
}
