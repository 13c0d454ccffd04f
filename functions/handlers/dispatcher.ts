/**
 * Dispatcher: DynamoDB stream → SendMessageBatch on each task's lane. The only sender of task
 * messages. A record whose message could not be sent is reported as a batch item failure, so the
 * stream retries from it (duplicates are harmless: the version fence drops them).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { sqsClient } from '#core/clients.ts';
import { laneQueueUrls } from '#core/config.ts';
import { planDispatches, retryFrom, sendDispatches, type TableChange } from '#core/dispatching.ts';
import type { TaskRecord } from '#core/model.ts';
import { perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-dispatcher' });
const queueUrls = perEnvironment(laneQueueUrls);

const record = (image: unknown) => unmarshall(image as Record<string, AttributeValue>) as TaskRecord;

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const changes: TableChange[] = event.Records.flatMap((r) =>
    r.dynamodb?.NewImage && r.dynamodb.SequenceNumber
      ? [
          {
            sequence: r.dynamodb.SequenceNumber,
            image: record(r.dynamodb.NewImage),
            previous: r.dynamodb.OldImage ? record(r.dynamodb.OldImage) : undefined,
          },
        ]
      : [],
  );
  const { failed, errors } = await sendDispatches(sqsClient(), queueUrls(), planDispatches(changes, Date.now()));
  for (const { lane, error } of errors) logger.error('SendMessageBatch failed', { lane, error: error as Error });
  const from = retryFrom(failed);
  if (!from) return { batchItemFailures: [] };
  logger.warn('messages not sent; the stream will retry', { failed: failed.length });
  return { batchItemFailures: [{ itemIdentifier: from }] };
};
