/**
 * Creates what the stack defines, from the same definitions (lanes, table shape), in whatever
 * endpoint the SDK points at. Idempotent: existing resources are reused.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LANES, type LaneName, laneDlqName, laneQueueName } from '#core/lanes.ts';
import { laneVisibilitySeconds } from '#core/limits.ts';
import { TASK_TABLE } from '#core/table.ts';

export interface Provisioned {
  tableName: string;
  streamArn: string;
  queueUrls: Record<LaneName, string>;
  dlqUrls: Record<LaneName, string>;
}

export interface ProvisionOptions {
  prefix: string;
  /** Lane visibility timeout by consumer; the local runtime shortens the workers' with their timeout. */
  visibilityTimeoutSeconds?: number | ((consumer: 'worker' | 'launcher') => number);
}

const region = () => process.env.AWS_REGION ?? 'us-east-1';

export async function provision({
  prefix,
  visibilityTimeoutSeconds = (c) => laneVisibilitySeconds(c),
}: ProvisionOptions): Promise<Provisioned> {
  const visibility = typeof visibilityTimeoutSeconds === 'number' ? () => visibilityTimeoutSeconds : visibilityTimeoutSeconds;
  const dynamodb = new DynamoDBClient({ region: region() });
  const sqs = new SQSClient({ region: region(), useQueueUrlAsEndpoint: false });
  const tableName = `${prefix}-tasks`;
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TASK_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: TASK_TABLE.sortKey, AttributeType: 'S' },
          { AttributeName: TASK_TABLE.sweepIndex.partitionKey, AttributeType: 'S' },
          { AttributeName: TASK_TABLE.sweepIndex.sortKey, AttributeType: 'N' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: TASK_TABLE.sweepIndex.name,
            KeySchema: [
              { AttributeName: TASK_TABLE.sweepIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: TASK_TABLE.sweepIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        KeySchema: [
          { AttributeName: TASK_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TASK_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: TASK_TABLE.streamViewType },
      }),
    );
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TASK_TABLE.timeToLiveAttribute },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  let table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  while (table?.TableStatus !== 'ACTIVE') {
    await new Promise((r) => setTimeout(r, 200));
    table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  }
  const queueUrls = {} as Record<LaneName, string>;
  const dlqUrls = {} as Record<LaneName, string>;
  await Promise.all(
    LANES.map(async (lane) => {
      const dlq = await sqs.send(
        new CreateQueueCommand({ QueueName: laneDlqName(prefix, lane.name), Attributes: { MessageRetentionPeriod: '1209600' } }),
      );
      const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes
        ?.QueueArn;
      const queue = await sqs.send(
        new CreateQueueCommand({
          QueueName: laneQueueName(prefix, lane.name),
          Attributes: {
            VisibilityTimeout: String(visibility(lane.consumer)),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: lane.maxReceiveCount }),
          },
        }),
      );
      queueUrls[lane.name] = queue.QueueUrl as string;
      dlqUrls[lane.name] = dlq.QueueUrl as string;
    }),
  );
  dynamodb.destroy();
  sqs.destroy();
  return { tableName, streamArn: table.LatestStreamArn as string, queueUrls, dlqUrls };
}
