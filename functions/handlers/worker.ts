/**
 * Worker: one SQS batch from a lane. For each message: claim the task with a conditional start
 * (a stale message is simply dropped), run it, record the outcome with one conditional write.
 * Only infrastructure errors are reported as batch item failures; a task's own error is an outcome.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { numberEnv } from '#core/config.ts';
import { parseMessage } from '#core/dispatch.ts';
import { processMessage } from '#core/execution.ts';
import { DEFAULT_LAZY_START_MS, WORKER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { taskRegistry } from '#tasks/index.ts';
import { getStore } from './services.ts';
import { count, milliseconds, OUTCOME_METRIC, taskDimensions } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-worker' });
const processor = new BatchProcessor(EventType.SQS);
const ACTOR = 'system';

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(record.body);
  const outcome = await processMessage(message, {
    store: getStore(),
    registry: taskRegistry,
    actor: ACTOR,
    workerTimeoutMs: numberEnv('SLUICE_WORKER_TIMEOUT_SECONDS', WORKER_TIMEOUT_SECONDS) * 1000,
    lazyStartMs: numberEnv('SLUICE_LAZY_START_MS', DEFAULT_LAZY_START_MS),
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? 1),
    cancelGraceMs: numberEnv('SLUICE_CANCEL_GRACE_MS', 5000),
    controlPollMs: numberEnv('SLUICE_CONTROL_POLL_MS', 2000),
  });
  if (outcome.kind === 'stale') {
    logger.debug('stale message dropped', { taskId: message.id, version: message.v });
    return;
  }
  if (outcome.kind === 'held') {
    // Reported as a batch item failure: the message stays, and returns after the visibility timeout.
    throw new Error(`task ${message.id}: its attempt may still be running; message kept as its watchdog`);
  }
  const task = outcome.task;
  const dimensions = taskDimensions(task);
  const keys = { taskId: task.id, type: task.type, attempt: task.attempt, lane: dimensions.lane };
  if (outcome.kind === 'poisoned') {
    logger.error('task failed as poison: its worker kept dying', keys);
    count('Failed', dimensions);
    return;
  }
  const final = outcome.report.final;
  logger.info('attempt ended', { ...keys, outcome: outcome.report.end.kind, status: final?.status ?? 'superseded' });
  count('Started', dimensions);
  milliseconds('QueueWait', dimensions, (task.startedAt ?? 0) - (task.queuedAt ?? task.createdAt));
  if (final) {
    count(OUTCOME_METRIC[final.status] ?? final.status, dimensions);
    milliseconds('RunDuration', dimensions, (final.finishedAt ?? final.updatedAt) - (task.startedAt ?? final.updatedAt));
  }
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false });
