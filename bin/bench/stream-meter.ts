/**
 * Write units from the table's stream: every successful write appears there with the item before
 * and after, so its cost follows DynamoDB's rules exactly — the larger of the two sizes, rounded up
 * to 1 KB — and so does the sparse index's (an index write when the index keys appear, change or go).
 */
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TASK_TABLE } from '#core/table.ts';
import { itemSize, writeUnits } from './item-size.ts';

/** DynamoDB counts 100 bytes of overhead for each index item. */
const INDEX_OVERHEAD = 100;

export interface WriteTotals {
  tableWru: number;
  indexWru: number;
  writes: number;
}

type Image = Record<string, unknown> | undefined;

function indexWrites(before: Image, after: Image): number {
  const { partitionKey, sortKey } = TASK_TABLE.sweepIndex;
  const keyOf = (image: Image) =>
    image?.[partitionKey] !== undefined && image?.[sortKey] !== undefined ? `${image[partitionKey]}|${image[sortKey]}` : undefined;
  const [was, is] = [keyOf(before), keyOf(after)];
  if (was === is) return 0; // keys-only projection: nothing in the index changes
  const size = (image: Image) =>
    writeUnits(
      INDEX_OVERHEAD + itemSize({ pk: image?.pk, id: image?.id, [partitionKey]: image?.[partitionKey], [sortKey]: image?.[sortKey] }),
    );
  return (was ? size(before) : 0) + (is ? size(after) : 0);
}

/** Meters the writes of the items `include` accepts (the run's own tasks, not a warm-up's). */
export async function meterStream(
  streamArn: string,
  include: (image: Record<string, unknown>, before: Record<string, unknown> | undefined) => boolean = () => true,
): Promise<WriteTotals> {
  const client = new DynamoDBStreamsClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
  const totals: WriteTotals = { tableWru: 0, indexWru: 0, writes: 0 };
  const shards = (await client.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription?.Shards ?? [];
  for (const shard of shards) {
    let iterator = (
      await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator) {
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const record of out.Records ?? []) {
        const before = record.dynamodb?.OldImage ? unmarshall(record.dynamodb.OldImage as never) : undefined;
        const after = record.dynamodb?.NewImage ? unmarshall(record.dynamodb.NewImage as never) : undefined;
        const image = after ?? before;
        if (!image || !include(image, before)) continue;
        totals.writes += 1;
        totals.tableWru += writeUnits(before ? itemSize(before) : 0, after ? itemSize(after) : 0);
        totals.indexWru += indexWrites(before, after);
      }
      if (!out.Records?.length) break;
      iterator = out.NextShardIterator;
    }
  }
  client.destroy();
  return totals;
}
