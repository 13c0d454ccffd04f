/**
 * Dead-letter handler: messages that reached a lane's DLQ. Marks their task FAILED with reason
 * `poison` (or re-sends a task that never started), so nothing stays RUNNING or QUEUED forever.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { recoverDeadLetter } from '#core/dead-letters.ts';
import { parseMessage } from '#core/dispatch.ts';
import { getStore } from './services.ts';
import { emit, taskDimensions } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-dead-letter' });
const processor = new BatchProcessor(EventType.SQS);

/**
 * Every message counts (DeadLettered, which the dead-letters alarm reads), handled or not: a
 * handler that keeps failing on it (throttling, a broken deploy) must still page someone. A retried
 * failure counts again, so the alarm stays on while it fails.
 */
async function handleRecord(record: SQSRecord): Promise<void> {
  let lane = 'unknown';
  try {
    let message: ReturnType<typeof parseMessage>;
    try {
      message = parseMessage(record.body);
    } catch {
      logger.error('not a task message; dropped', { body: record.body.slice(0, 200) });
      return;
    }
    const { outcome, task } = await recoverDeadLetter(getStore(), message, Number(record.attributes.ApproximateReceiveCount ?? 0));
    if (task) lane = taskDimensions(task).lane;
    logger.warn('dead letter handled', { taskId: message.id, version: message.v, outcome, status: task?.status });
  } finally {
    emit('DeadLettered', { lane });
  }
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false });
