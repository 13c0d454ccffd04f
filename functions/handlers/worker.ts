/**
 * Worker: one SQS batch from a lane. For each message: claim the task with a conditional start
 * (a stale message is simply dropped), run it, record the outcome with one conditional write.
 * Only infrastructure errors are reported as batch item failures; a task's own error is an outcome.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseMessage } from '#core/dispatch.ts';
import { runAttempt } from '#core/execution.ts';
import { taskRegistry } from '#tasks/index.ts';
import { getServices } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-worker' });
const processor = new BatchProcessor(EventType.SQS);
const ACTOR = 'system';

async function handleRecord(record: SQSRecord): Promise<void> {
  const message = parseMessage(record.body);
  const { store } = getServices();
  const started = await store.start(message.id, message.v, message.a, ACTOR);
  if (!started) {
    logger.debug('stale message dropped', { taskId: message.id, version: message.v });
    return;
  }
  const log = logger.createChild({
    persistentKeys: { taskId: started.id, type: started.type, attempt: started.attempt, lane: started.priority },
  });
  const { final, end } = await runAttempt(started, { store, registry: taskRegistry, actor: ACTOR });
  log.info('attempt ended', { outcome: end.kind, status: final?.status ?? 'superseded' });
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processPartialResponse(event, handleRecord, processor, { context });
