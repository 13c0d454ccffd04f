/**
 * Dispatcher: DynamoDB stream → SendMessageBatch on each task's lane. The only sender of task
 * messages. A record whose message could not be sent is reported as a batch item failure, so the
 * stream retries from it (duplicates are harmless: the version fence drops them).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { Admission, LimitCatalog } from '#core/admission.ts';
import { dynamo, sqsClient } from '#core/clients.ts';
import { laneQueueUrls, tableName } from '#core/config.ts';
import {
  admitDispatches,
  fillParked,
  handOnBy,
  planDispatches,
  releaseSlots,
  retryFrom,
  sendDispatches,
  type TableChange,
  type Unsettled,
} from '#core/dispatching.ts';
import { LimitStore } from '#core/limit-store.ts';
import type { TaskRecord } from '#core/model.ts';
import { readSettings } from '#core/settings.ts';
import { LIMIT_DEFINITIONS_PARTITION } from '#core/tenancy.ts';
import { getStore, perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-dispatcher' });
const queueUrls = perEnvironment(laneQueueUrls);
const logSendFailure = (lane: string, error: unknown) => logger.error('SendMessageBatch failed', { lane, error: error as Error });
const admission = perEnvironment(() => {
  const settings = readSettings(['tenantConcurrency', 'tenantLaneSharePercent', 'limitsCacheMs']);
  const limits = new LimitStore(dynamo(), tableName());
  const handOn = handOnBy(sqsClient(), queueUrls, logSendFailure);
  return new Admission(limits, getStore(), new LimitCatalog(limits, settings.limitsCacheMs), settings, handOn);
});

const record = (image: unknown) => unmarshall(image as Record<string, AttributeValue>) as TaskRecord;

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  // A limit was set or removed: read the limits again before admitting what follows it.
  if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S === LIMIT_DEFINITIONS_PARTITION)) admission().invalidateLimits();
  const changes: TableChange[] = event.Records.flatMap((r) =>
    r.dynamodb?.NewImage && r.dynamodb.SequenceNumber && r.dynamodb.Keys?.pk?.S !== LIMIT_DEFINITIONS_PARTITION
      ? [
          {
            sequence: r.dynamodb.SequenceNumber,
            image: record(r.dynamodb.NewImage),
            previous: r.dynamodb.OldImage ? record(r.dynamodb.OldImage) : undefined,
          },
        ]
      : [],
  );
  const now = Date.now();
  const images = new Map(changes.map((c) => [c.sequence, c.image]));
  const needsAdmission = changes.some((c) => c.image.limited);
  const planned = planDispatches(changes, now);
  const admitted = needsAdmission
    ? await admitDispatches(planned, images, admission(), now)
    : { send: planned, parked: 0, failed: [], errors: [] };
  // What may run goes out first; giving slots back (and waking waiters) follows.
  const { failed: unsent, errors } = await sendDispatches(sqsClient(), queueUrls(), admitted.send);
  for (const { lane, error } of errors) logSendFailure(lane, error);
  const none: Unsettled = { failed: [], errors: [] };
  const released = needsAdmission ? await releaseSlots(changes, admission(), now) : none;
  const filled = needsAdmission ? await fillParked(changes, admission(), now) : none;
  for (const error of [...admitted.errors, ...released.errors, ...filled.errors])
    logger.error('admission failed', { error: error as Error });
  const failed = [...unsent, ...admitted.failed, ...released.failed, ...filled.failed];
  const from = retryFrom(failed);
  if (!from) return { batchItemFailures: [] };
  logger.warn('messages not sent; the stream will retry', { failed: failed.length });
  return { batchItemFailures: [{ itemIdentifier: from }] };
};
