/** Sweeper: runs every minute (EventBridge schedule; a timer locally). */
import { Logger } from '@aws-lambda-powertools/logger';
import { dynamo, sqsClient } from '#core/clients.ts';
import { laneQueueUrls, tableName } from '#core/config.ts';
import { ContainerSlots } from '#core/container-slots.ts';
import { ContainerPlatform, containerConfig } from '#core/containers.ts';
import { attemptLeaseMs } from '#core/limits.ts';
import { DEFAULT_RECONCILE, laneEmptiness, reconcile } from '#core/reconcile.ts';
import { readSettings } from '#core/settings.ts';
import { type SweepDeps, sweep } from '#core/sweeper.ts';
import { getStore, perEnvironment } from './services.ts';
import { emit } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-sweeper' });
const settings = perEnvironment(() => readSettings(['containerCap', 'recoverySeconds', 'workerTimeoutSeconds']));
const sweepDeps = perEnvironment(
  (): SweepDeps => ({
    lanes: { sqs: sqsClient(), urls: laneQueueUrls() },
    ...(process.env.CLUSTER_ARN
      ? {
          platform: new ContainerPlatform(containerConfig()),
          slots: new ContainerSlots(dynamo(), tableName(), settings().containerCap),
          launchCheckMs: attemptLeaseMs(settings().recoverySeconds),
        }
      : {}),
  }),
);

const reconcileSettings = perEnvironment(() => ({
  ...DEFAULT_RECONCILE,
  recoveryMs: settings().recoverySeconds * 1000,
  workerTimeoutMs: settings().workerTimeoutSeconds * 1000,
}));

export const handler = async (): Promise<{
  examined: number;
  promoted: number;
  recovered: number;
  aged: number;
  reconciled: number;
}> => {
  const deps = sweepDeps();
  const report = await sweep(getStore(), deps);
  const reconciled = await reconcile(getStore(), laneEmptiness(sqsClient(), laneQueueUrls()), reconcileSettings());
  for (const r of reconciled.repaired) {
    logger.warn('task reconciled', { taskId: r.id, reason: r.reason, status: r.status });
    emit('Reconciled', { reason: r.reason });
  }
  for (const e of reconciled.errors) logger.error('reconcile step failed', { where: e.where, error: e.error as Error });
  for (const r of report.recovered) {
    logger.warn('task recovered', { taskId: r.id, reason: r.reason, status: r.status });
    emit('Recovered', { reason: r.reason.split('/')[0] });
  }
  for (const e of report.errors) logger.error('sweep step failed', { where: e.where, error: e.error as Error });
  if (report.promoted.length) emit('Promoted', {}, report.promoted.length);
  if (report.aged.length) emit('Aged', {}, report.aged.length);
  if (report.examined + report.aged.length > 0) {
    logger.info('sweep', { examined: report.examined, promoted: report.promoted.length, aged: report.aged.length });
  }
  return {
    examined: report.examined,
    promoted: report.promoted.length,
    recovered: report.recovered.length,
    aged: report.aged.length,
    reconciled: reconciled.repaired.length,
  };
};
