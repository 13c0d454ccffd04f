/** Sweeper: runs every minute (EventBridge schedule; a timer locally). */
import { Logger } from '@aws-lambda-powertools/logger';
import { dynamo, sqsClient } from '#core/clients.ts';
import { laneQueueUrls, numberEnv, tableName } from '#core/config.ts';
import { ContainerSlots } from '#core/container-slots.ts';
import { ContainerPlatform, containerConfig } from '#core/containers.ts';
import { DEFAULT_CONTAINER_CAP } from '#core/limits.ts';
import { type SweepDeps, sweep } from '#core/sweeper.ts';
import { getStore, perEnvironment } from './services.ts';
import { count } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-sweeper' });
const sweepDeps = perEnvironment(
  (): SweepDeps => ({
    lanes: { sqs: sqsClient(), urls: laneQueueUrls() },
    ...(process.env.CLUSTER_ARN
      ? {
          platform: new ContainerPlatform(containerConfig()),
          slots: new ContainerSlots(dynamo(), tableName(), numberEnv('CONTAINER_CAP', DEFAULT_CONTAINER_CAP)),
        }
      : {}),
  }),
);

export const handler = async (): Promise<{ examined: number; promoted: number; recovered: number; aged: number }> => {
  const report = await sweep(getStore(), sweepDeps());
  for (const r of report.recovered) {
    logger.warn('task recovered', { taskId: r.id, reason: r.reason, status: r.status });
    count('Recovered', { reason: r.reason.split('/')[0] });
  }
  for (const e of report.errors) logger.error('sweep step failed', { where: e.where, error: e.error as Error });
  if (report.promoted.length) count('Promoted', {}, report.promoted.length);
  if (report.aged.length) count('Aged', {}, report.aged.length);
  if (report.examined + report.aged.length > 0) {
    logger.info('sweep', { examined: report.examined, promoted: report.promoted.length, aged: report.aged.length });
  }
  return { examined: report.examined, promoted: report.promoted.length, recovered: report.recovered.length, aged: report.aged.length };
};
