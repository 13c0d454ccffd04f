/**
 * Schedule fire: EventBridge Scheduler's target. One tick → at most one task (the core makes a
 * redelivered tick a no-op). Scheduler invokes it asynchronously: a failure is thrown so Lambda
 * retries the same tick (twice), then puts it on the stack's schedule-failures queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { FireEventSchema } from '#core/schedule-firing.ts';
import { getSubmitting } from './submitting.ts';
import { emitTick } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-schedule-fire' });

export const handler = async (event: unknown): Promise<{ outcome: string; taskId?: string }> => {
  const parsed = FireEventSchema.safeParse(event);
  if (!parsed.success) {
    // Not something our sync wrote: retrying it cannot help.
    logger.error('not a Sluice schedule tick', { event: JSON.stringify(event).slice(0, 500) });
    return { outcome: 'rejected' };
  }
  const { schedule, scheduledTime, attempt } = parsed.data;
  const outcome = await getSubmitting().firing.fire(schedule, Date.parse(scheduledTime));
  emitTick(outcome);
  if (outcome.kind === 'skipped') logger.info('tick skipped', { schedule, scheduledTime, reason: outcome.reason });
  else if (outcome.kind !== 'created') logger.info('tick ignored', { schedule, scheduledTime, outcome: outcome.kind, attempt });
  return { outcome: outcome.kind, ...(outcome.kind === 'created' ? { taskId: outcome.task.id } : {}) };
};
