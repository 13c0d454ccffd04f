/**
 * BatchWriteItem for any items of the table: 25 requests a call, the unprocessed ones retried with
 * backoff a bounded number of times (about 6 s in all), then StoreBusy — the caller retries (the
 * intake answers 503, a stream batch is retried), so a throttled table never spins a caller.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
      if (round === UNPROCESSED_RETRIES) throw new StoreBusy(`${pending.length} ${what} were not stored after ${round} tries`);
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round)));
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = out.UnprocessedItems?.[table] ?? [];
    }
  }
}
