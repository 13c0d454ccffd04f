/**
 * Launcher: drains the `long` lane, one container per task, under the container cap. A launch
 * that must wait (cap reached, throttling, no capacity) keeps its message with a growing delay.
 */

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamo, sqsClient } from '#core/clients.ts';
import { requiredEnv, tableName } from '#core/config.ts';
import { ContainerSlots } from '#core/container-slots.ts';
import { ContainerPlatform, containerConfig } from '#core/containers.ts';
import { parseMessage } from '#core/dispatch.ts';
import { launch } from '#core/launching.ts';
import { attemptLeaseMs } from '#core/limits.ts';
import { readSettings } from '#core/settings.ts';
import { getStore, perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-launcher' });
const processor = new BatchProcessor(EventType.SQS);
const launchDeps = perEnvironment(() => {
  const settings = readSettings(['containerCap', 'recoverySeconds']);
  return {
    slots: new ContainerSlots(dynamo(), tableName(), settings.containerCap),
    platform: new ContainerPlatform(containerConfig()),
    checkMs: attemptLeaseMs(settings.recoverySeconds),
  };
});

/** Seconds before a deferred launch is tried again: 5 s doubling to 5 minutes. */
const retryDelaySeconds = (receiveCount: number) => Math.min(300, 5 * 2 ** Math.min(6, receiveCount - 1));

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(record.body);
  const outcome = await launch(message, { store: getStore(), ...launchDeps() });
  if (outcome.kind === 'launched') {
    logger.info('container launched', { taskId: message.id, version: message.v, ref: outcome.ref });
    return;
  }
  if (outcome.kind === 'stale') return;
  const delay = retryDelaySeconds(Number(record.attributes.ApproximateReceiveCount ?? 1));
  await sqsClient().send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: requiredEnv('LANE_LONG_URL'),
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: delay,
    }),
  );
  logger.info('launch deferred', { taskId: message.id, reason: outcome.reason, retryInSeconds: delay });
  // A batch item failure keeps the message; it comes back after the delay set above.
  throw new Error(`launch deferred: ${outcome.reason}`);
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false });
