/**
 * Schedule sync: the table's stream (schedule items only) → EventBridge Scheduler. Each changed
 * schedule is read again and applied as it is now, so records out of order or replayed converge
 * on the latest state. A failed record is reported, and the stream retries from it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { dynamo, schedulerClient } from '#core/clients.ts';
import { requiredEnv, schedulerTarget, tableName } from '#core/config.ts';
import { ScheduleStore } from '#core/schedule-store.ts';
import { SchedulerSync } from '#core/schedule-sync.ts';
import { perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-schedule-sync' });

const services = perEnvironment(() => {
  const target = schedulerTarget();
  if (!target) requiredEnv('SCHEDULE_GROUP');
  return {
    store: new ScheduleStore(dynamo(), tableName()),
    sync: new SchedulerSync(schedulerClient(), target as NonNullable<typeof target>),
  };
});

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const { store, sync } = services();
  const done = new Set<string>();
  for (const record of event.Records) {
    const name = record.dynamodb?.Keys?.id?.S;
    if (!name || done.has(name)) continue;
    try {
      const action = await sync.apply(name, await store.find(name));
      done.add(name);
      logger.info('schedule synced', { schedule: name, action });
    } catch (error) {
      logger.error('schedule sync failed; the stream will retry', { schedule: name, error: error as Error });
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
};
