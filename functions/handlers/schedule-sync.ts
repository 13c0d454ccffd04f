/**
 * Schedule sync: the table's stream (schedule items only) → EventBridge Scheduler; and, every
 * five minutes, the repair pass. Each changed
 * schedule is read again and applied as it is now, so records out of order or replayed converge
 * on the latest state. A failed record is reported, and the stream retries from it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { dynamo, schedulerClient } from '#core/clients.ts';
import { requiredEnv, schedulerTarget, tableName } from '#core/config.ts';
import { ScheduleStore } from '#core/schedule-store.ts';
import { type REPAIR_EVENT, type RepairReport, SchedulerSync } from '#core/schedule-sync.ts';
import { perEnvironment } from './services.ts';
import { emit } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-schedule-sync' });

const services = perEnvironment(() => {
  const target = schedulerTarget();
  if (!target) requiredEnv('SCHEDULE_GROUP');
  return {
    store: new ScheduleStore(dynamo(), tableName()),
    sync: new SchedulerSync(schedulerClient(), target as NonNullable<typeof target>),
  };
});

/** The repair pass (REPAIR_EVENT, from its rule): what the stream missed. */
async function repair(): Promise<RepairReport> {
  const { store, sync } = services();
  const report = await sync.repair(() => store.all());
  const repaired = report.created + report.updated + report.deleted;
  if (repaired > 0) {
    logger.warn('Scheduler schedules repaired', { ...report });
    emit('ScheduleRepaired', {}, repaired);
  }
  return report;
}

export async function handler(event: typeof REPAIR_EVENT): Promise<RepairReport>;
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse>;
export async function handler(event: DynamoDBStreamEvent | typeof REPAIR_EVENT): Promise<DynamoDBBatchResponse | RepairReport> {
  if ('repair' in event) return repair();
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
}
