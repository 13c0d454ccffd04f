/**
 * Worker: one SQS batch from a lane. For each message: claim the task with a conditional start
 * (a stale message is simply dropped), run it, record the outcome with one conditional write.
 * While the batch runs, its messages' visibility is extended, so only a dead worker's messages
 * come back. Only infrastructure errors and held duplicates are reported as batch item failures;
 * a task's own error is an outcome.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { processMessage } from '#core/claiming.ts';
import { dynamo, sqsClient } from '#core/clients.ts';
import { laneQueueUrlForArn, tableName } from '#core/config.ts';
import { parseMessage } from '#core/dispatch.ts';
import { LimitStore } from '#core/limit-store.ts';
import { attemptLeaseMs, heldVisibilitySeconds } from '#core/limits.ts';
import { OUTCOME_METRIC } from '#core/metrics.ts';
import { RateGate } from '#core/rate-gate.ts';
import { readSettings } from '#core/settings.ts';
import { VisibilityKeeper } from '#core/visibility.ts';
import { taskRegistry } from '#tasks/index.ts';
import { leaseGuard } from '../runtime/lease-fence.ts';
import { getStore, perEnvironment } from './services.ts';
import { emit, emitAttempt, taskDimensions } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-worker' });
const rateGate = perEnvironment(() => new RateGate(new LimitStore(dynamo(), tableName())));
const processor = new BatchProcessor(EventType.SQS);
const ACTOR = 'system';

/** The worker's settings, read once per environment (at its first invocation). */
const settings = perEnvironment(() => {
  const read = readSettings(['recoverySeconds', 'workerTimeoutSeconds', 'lazyStartMs', 'cancelGraceMs', 'controlPollMs']);
  return {
    visibilitySeconds: heldVisibilitySeconds(read.recoverySeconds),
    lease: { ms: attemptLeaseMs(read.recoverySeconds), indexed: false },
    workerTimeoutMs: read.workerTimeoutSeconds * 1000,
    lazyStartMs: read.lazyStartMs,
    cancelGraceMs: read.cancelGraceMs,
    controlPollMs: read.controlPollMs,
  };
});

interface BatchState {
  keeper: VisibilityKeeper;
  /** Tasks that ignored their abort signal and may still be running in this environment. */
  abandoned: string[];
}

async function handleRecord(record: SQSRecord, batch: BatchState): Promise<void> {
  const config = settings();
  const message = parseMessage(record.body);
  const outcome = await processMessage(message, {
    store: getStore(),
    registry: taskRegistry,
    actor: ACTOR,
    lease: config.lease,
    workerTimeoutMs: config.workerTimeoutMs,
    lazyStartMs: config.lazyStartMs,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
    cancelGraceMs: config.cancelGraceMs,
    controlPollMs: config.controlPollMs,
    leaseGuard,
    rateGate: rateGate(),
  });
  if (outcome.kind === 'deferred') {
    logger.info('rate-limited: deferred to its reserved start', { taskId: message.id, until: new Date(outcome.until).toISOString() });
    return;
  }
  if (outcome.kind === 'stale') {
    logger.debug('stale message dropped', { taskId: message.id, version: message.v });
    return;
  }
  if (outcome.kind === 'held') {
    // A duplicate of a live attempt: out of sight until that attempt's lease would expire, then
    // back as its watchdog. Reported as a batch item failure, so it is not deleted.
    await batch.keeper.release(record.messageId, outcome.retryAfterMs / 1000 + 1);
    throw new Error(`task ${message.id}: its attempt is alive; duplicate kept as its watchdog`);
  }
  const task = outcome.task;
  const dimensions = taskDimensions(task);
  const keys = { taskId: task.id, type: task.type, attempt: task.attempt, lane: dimensions.lane };
  if (outcome.kind === 'recovered') {
    logger.error('the worker of this task died and it cannot run again', { ...keys, status: task.status });
    const metric = OUTCOME_METRIC[task.status];
    if (metric) emit(metric, dimensions);
    return;
  }
  const { final, end, abandoned } = outcome.report;
  if (abandoned) batch.abandoned.push(task.id);
  logger.info('attempt ended', { ...keys, outcome: end.kind, status: final?.status ?? 'superseded' });
  emitAttempt(task, final);
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const config = settings();
  const queueUrl = laneQueueUrlForArn(event.Records[0]?.eventSourceARN ?? '');
  const batch: BatchState = {
    keeper: new VisibilityKeeper(sqsClient(), queueUrl, config.visibilitySeconds, event.Records).start(),
    abandoned: [],
  };
  // No task starts before its message's visibility is short: otherwise a worker that dies early
  // would leave the message hidden for the whole function timeout.
  await batch.keeper.ready();
  let response: SQSBatchResponse;
  try {
    response = await processPartialResponse(event, (record: SQSRecord) => handleRecord(record, batch), processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  } finally {
    await batch.keeper.stop();
  }
  if (batch.abandoned.length > 0) {
    // A body that ignored its abort signal is still running here, and a frozen environment would
    // resume it at the next invocation: delete what this batch finished, then stop the environment.
    logger.error('tasks ignored their abort signal; stopping this environment', { taskIds: batch.abandoned });
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const done = event.Records.filter((r) => !failed.has(r.messageId));
    for (let i = 0; i < done.length; i += 10) {
      await sqsClient()
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.slice(i, i + 10).map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle })),
          }),
        )
        .catch(() => {}); // not deleted: they come back, find their task finished, and are dropped
    }
    process.exit(70);
  }
  return response;
};
