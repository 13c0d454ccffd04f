/**
 * Sweeper: runs every minute (EventBridge schedule; a timer locally). Its pass, then every few
 * passes the backstops, then what needs attention as one metric. A step that failed (a lane it
 * could not look into, a DLQ it could not drain) fails the invocation after the pass, so the
 * sweeper's errors alarm sees a sweeper that cannot do its work, not only one that cannot start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { attentionOf, Cadence, failuresWaiting } from '#core/attention.ts';
import { dynamo, sqsClient } from '#core/clients.ts';
import { failureQueueUrls, laneDlqUrls, laneMappings, laneQueueUrls, tableName } from '#core/config.ts';
import { ContainerSlots } from '#core/container-slots.ts';
import { ContainerPlatform, containerConfig } from '#core/containers.ts';
import { drainDeadLetters } from '#core/dead-letters.ts';
import { LaneSwitches } from '#core/lane-switch.ts';
import { LimitStore } from '#core/limit-store.ts';
import { attemptLeaseMs } from '#core/limits.ts';
import { lambdaClient } from '#core/operations-clients.ts';
import { DEFAULT_RECONCILE, laneEmptiness, type ReconcileLooks, reconcile, waiterStanding } from '#core/reconcile.ts';
import { readSettings } from '#core/settings.ts';
import { type SweepDeps, sweep } from '#core/sweeper.ts';
import { getStore, perEnvironment } from './services.ts';
import { emit } from './telemetry.ts';

const logger = new Logger({ serviceName: 'sluice-sweeper' });
const settings = perEnvironment(() =>
  readSettings(['containerCap', 'recoverySeconds', 'workerTimeoutSeconds', 'backstopEveryPasses', 'recoveriesPerPass']),
);
const backstops = perEnvironment(() => new Cadence(settings().backstopEveryPasses));
const switches = perEnvironment(() => new LaneSwitches(lambdaClient(), dynamo(), tableName(), laneMappings()));
const sweepDeps = perEnvironment(
  (): SweepDeps => ({
    // A lane paused in AWS's console counts too: the mappings' own states are read.
    lanes: { sqs: sqsClient(), urls: laneQueueUrls(), paused: () => switches().paused() },
    ...(process.env.CLUSTER_ARN
      ? {
          platform: new ContainerPlatform(containerConfig()),
          slots: new ContainerSlots(dynamo(), tableName(), settings().containerCap),
          launchCheckMs: attemptLeaseMs(settings().recoverySeconds),
        }
      : {}),
  }),
);

const reconcileLooks = (): ReconcileLooks => ({
  laneEmpty: laneEmptiness(sqsClient(), laneQueueUrls()), // asked afresh each pass
  waiter: waiterStanding(new LimitStore(dynamo(), tableName())),
});
const reconcileSettings = perEnvironment(() => ({
  ...DEFAULT_RECONCILE,
  recoveryMs: settings().recoverySeconds * 1000,
  workerTimeoutMs: settings().workerTimeoutSeconds * 1000,
}));

/** What a pass did; the steps that failed are in the logs (and fail the invocation). */
export interface SweepPass {
  examined: number;
  promoted: number;
  recovered: number;
  aged: number;
  /** Whether this pass ran the backstops. */
  backstops: boolean;
  reconciled: number;
  deadLetters: number;
  attention: string[];
}

export const handler = async (): Promise<SweepPass> => {
  const deps = sweepDeps();
  const store = getStore();
  const report = await sweep(store, deps);
  const stepErrors = [...report.errors];
  const backstop = backstops().next();
  let reconciled = 0;
  let deadLetters = 0;
  let waiting = {};
  if (backstop) {
    const repairs = await reconcile(store, reconcileLooks(), reconcileSettings());
    for (const r of repairs.repaired) {
      logger.warn('task reconciled', { taskId: r.id, reason: r.reason, status: r.status });
      emit('Reconciled', { reason: r.reason });
    }
    reconciled = repairs.repaired.length;
    const drain = await drainDeadLetters(store, sqsClient(), laneDlqUrls());
    for (const d of drain.received) {
      logger.warn('dead letter handled', { taskId: d.taskId, lane: d.lane, outcome: d.outcome });
      emit('DeadLettered', { lane: d.lane });
    }
    deadLetters = drain.received.length;
    const failures = await failuresWaiting(sqsClient(), failureQueueUrls());
    waiting = failures.waiting;
    stepErrors.push(...repairs.errors, ...drain.errors, ...failures.errors);
  }
  for (const r of report.recovered) {
    logger.warn('task recovered', { taskId: r.id, reason: r.reason, status: r.status });
    emit('Recovered', { reason: r.reason.split('/')[0] });
  }
  if (report.promoted.length) emit('Promoted', {}, report.promoted.length);
  if (report.aged.length) emit('Aged', {}, report.aged.length);
  const attention = attentionOf(
    { deadLetters, failuresWaiting: waiting, lanesBehind: report.behind, recovered: report.recovered.length },
    settings().recoveriesPerPass,
  );
  for (const a of attention) {
    logger.warn('needs attention', { reason: a.reason, count: a.count, ...(a.reason === 'lane-behind' ? { lanes: report.behind } : {}) });
    emit('Attention', { reason: a.reason }, a.count);
  }
  if (report.examined + report.aged.length > 0) {
    logger.info('sweep', { examined: report.examined, promoted: report.promoted.length, aged: report.aged.length });
  }
  for (const e of stepErrors) logger.error('sweep step failed', { where: e.where, error: e.error as Error });
  // Per-task failures are in the errors too: a task that moved meanwhile is not among them.
  if (stepErrors.length > 0) throw new Error(`sweep: ${stepErrors.length} step(s) failed: ${stepErrors.map((e) => e.where).join(', ')}`);
  return {
    examined: report.examined,
    promoted: report.promoted.length,
    recovered: report.recovered.length,
    aged: report.aged.length,
    backstops: backstop,
    reconciled,
    deadLetters,
    attention: attention.map((a) => a.reason),
  };
};
