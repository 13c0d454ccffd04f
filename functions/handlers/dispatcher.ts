/**
 * Dispatcher: DynamoDB stream → SendMessageBatch on each task's lane. The only sender of task
 * messages. A record whose message could not be sent is reported as a batch item failure, so the
 * stream retries from it (duplicates are harmless: the version fence drops them).
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { sqsClient } from '#core/clients.ts';
import { laneQueueUrls } from '#core/config.ts';
import { type Dispatch, dispatchFor } from '#core/dispatch.ts';
import type { LaneName } from '#core/lanes.ts';
import type { TaskRecord } from '#core/model.ts';
import { perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-dispatcher' });
const queueUrls = perEnvironment(laneQueueUrls);

interface Pending {
  sequence: string;
  dispatch: Dispatch;
}

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const urls = queueUrls();
  const now = Date.now();
  const pending: Pending[] = [];
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (!image || !record.dynamodb?.SequenceNumber) continue;
    const old = record.dynamodb.OldImage;
    const previous = old ? (unmarshall(old as Record<string, AttributeValue>) as TaskRecord) : undefined;
    const dispatch = dispatchFor(unmarshall(image as Record<string, AttributeValue>) as TaskRecord, now, previous);
    if (dispatch) pending.push({ sequence: record.dynamodb.SequenceNumber, dispatch });
  }
  const failed = await sendAll(pending, urls);
  if (failed.length === 0) return { batchItemFailures: [] };
  // Streams are ordered: reporting the earliest failure makes Lambda retry from there.
  const earliest = failed.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
  logger.warn('messages not sent; the stream will retry', { failed: failed.length });
  return { batchItemFailures: [{ itemIdentifier: earliest }] };
};

/** Send grouped by lane, 10 per request; returns the sequence numbers whose message was not sent. */
async function sendAll(pending: Pending[], queueUrls: Record<LaneName, string>): Promise<string[]> {
  const byLane = new Map<LaneName, Pending[]>();
  for (const p of pending) {
    const lane = byLane.get(p.dispatch.lane);
    if (lane) lane.push(p);
    else byLane.set(p.dispatch.lane, [p]);
  }
  const failed: string[] = [];
  const requests: Promise<void>[] = [];
  for (const [lane, items] of byLane) {
    for (let i = 0; i < items.length; i += 10) {
      const chunk = items.slice(i, i + 10);
      requests.push(
        sqsClient()
          .send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrls[lane],
              Entries: chunk.map((p, n) => ({
                Id: String(n),
                MessageBody: JSON.stringify(p.dispatch.message),
                DelaySeconds: p.dispatch.delaySeconds || undefined,
              })),
            }),
          )
          .then((out) => {
            for (const f of out.Failed ?? []) failed.push(chunk[Number(f.Id)].sequence);
          })
          .catch((error: unknown) => {
            logger.error('SendMessageBatch failed', { lane, error: error as Error });
            failed.push(...chunk.map((p) => p.sequence));
          }),
      );
    }
  }
  await Promise.all(requests);
  return failed;
}
