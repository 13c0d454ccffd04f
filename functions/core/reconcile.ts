/**
 * The reconciliation: the backstop that finds a non-terminal task nothing else will move — a
 * QUEUED task whose message is gone (the dispatcher gave up on its stream record, or SQS's
 * retention dropped it), a RUNNING task whose watchdog message is gone, an item missing from the
 * sweep index — and repairs it with a recorded reason.
 *
 * It looks at every task a few times, at fixed ages after its creation (the rungs), through the
 * table's own keys (ids encode their creation time): each look costs one eventually consistent
 * read of the task's item, whatever else the table holds, and a pass never walks the whole table.
 * A marker per rung remembers how far it got, so a missed pass is caught up by the next one.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { attemptAliveUntil } from './claiming.ts';
import { StaleVersion } from './errors.ts';
import { type LaneName, laneFor } from './lanes.ts';
import type { LimitStore, WaiterStanding } from './limit-store.ts';
import { MAX_SQS_RETENTION_SECONDS } from './limits.ts';
import type { TaskRecord, TaskStatus } from './model.ts';
import { recoverLost } from './recovery.ts';
import type { LostAttempt } from './retrying.ts';
import type { TaskStore } from './store.ts';
import { sweepKey } from './sweep-index.ts';
import { waitedLimitIds } from './tenancy.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface ReconcileSettings {
  /** Ages after creation at which each task is looked at. @default 15 minutes, 1 day, 13 days */
  rungsMs: readonly number[];
  /** A QUEUED task with no new version for this long is suspect. @default 10 minutes */
  queuedGraceMs: number;
  /** The recovery bound: a RUNNING attempt whose lease expired longer ago than this was missed by its watchdog. */
  recoveryMs: number;
  /** The worker function's timeout (attempts recorded without a lease). */
  workerTimeoutMs: number;
  /** The most creation time one pass looks at per rung (a pass after a long outage catches up in steps). @default 1 hour */
  maxWindowMs: number;
  /** Where a pass starts when a rung has no marker yet: this long before its window's end. @default 5 minutes */
  firstWindowMs: number;
}

export const DEFAULT_RECONCILE: Omit<ReconcileSettings, 'recoveryMs' | 'workerTimeoutMs'> = {
  rungsMs: [15 * MINUTE, DAY, 13 * DAY],
  queuedGraceMs: 10 * MINUTE,
  maxWindowMs: HOUR,
  firstWindowMs: 5 * MINUTE,
};

/** A QUEUED task this old certainly outlived its message: SQS keeps one 14 days at most. */
const RETENTION_MARGIN_MS = (MAX_SQS_RETENTION_SECONDS - 24 * 3600) * 1000;

export type ReconcileDecision =
  | { kind: 'skip' }
  /** Send it again: a new version, whose message the dispatcher sends; any old one is fenced out. */
  | { kind: 'redispatch'; reason: string }
  | { kind: 'recover'; lost: LostAttempt }
  /** Put it back in the sweep index (its lease or due time must be watched). */
  | { kind: 'reindex'; at: number };

/** What the reconciliation sees of a lane: whether its queue holds no message at all. */
export type LaneIsEmpty = (task: TaskRecord) => Promise<boolean>;

/** What a pass looks at beyond the task's item, asked only when it matters. */
export interface ReconcileLooks {
  laneEmpty: LaneIsEmpty;
  /** Where a task that says it waits for a slot stands: parked, holding a slot, or neither. */
  waiter: (task: TaskRecord) => Promise<WaiterStanding>;
}

/** What to do with one non-terminal task found by a pass; it writes nothing. */
export async function decideReconcile(
  task: TaskRecord,
  now: number,
  settings: Pick<ReconcileSettings, 'queuedGraceMs' | 'recoveryMs' | 'workerTimeoutMs'>,
  looks: ReconcileLooks,
): Promise<ReconcileDecision> {
  switch (task.status) {
    case 'SCHEDULED':
      return task.sweepAt === undefined ? { kind: 'reindex', at: task.runAt ?? now } : { kind: 'skip' };
    case 'QUEUED': {
      if (task.leaseUntil !== undefined) {
        return task.sweepAt === undefined ? { kind: 'reindex', at: task.leaseUntil } : { kind: 'skip' }; // a launch
      }
      const waited = now - Math.max(task.updatedAt, task.notBefore ?? 0);
      if (waited < settings.queuedGraceMs) return { kind: 'skip' };
      // A task that says it waits is admitted afresh by a new version: it takes its slot (or
      // finds the one it holds), or parks again in its place in line, a dead holder's slot
      // reclaimed on the way — so a limit deleted or a holder lost meanwhile cannot keep it
      // waiting. Parked, that is a routine look; with neither a waiter item nor a slot, nothing
      // would ever wake it. Holding a slot, it was handed one: its message may be in the lane.
      const waiting = task.waitingFor !== undefined;
      if (waiting) {
        const standing = await looks.waiter(task);
        if (standing === 'parked') return { kind: 'redispatch', reason: 'reconcile:waiter-rechecked' };
        if (standing === 'neither') return { kind: 'redispatch', reason: 'reconcile:wake-up-lost' };
      }
      // A busy lane may legitimately hold it far back; an empty one cannot hold it at all.
      if (waited > RETENTION_MARGIN_MS) return { kind: 'redispatch', reason: 'reconcile:retention' };
      if (!(await looks.laneEmpty(task))) return { kind: 'skip' };
      return { kind: 'redispatch', reason: waiting ? 'reconcile:wake-up-lost' : 'reconcile:message-lost' };
    }
    case 'RUNNING': {
      if (task.runtime === 'container') {
        return task.sweepAt === undefined && task.leaseUntil !== undefined ? { kind: 'reindex', at: task.leaseUntil } : { kind: 'skip' };
      }
      const deadFor = now - attemptAliveUntil(task, settings.workerTimeoutMs);
      if (deadFor <= settings.recoveryMs) return { kind: 'skip' };
      return {
        kind: 'recover',
        lost: {
          reason: 'reconcile:worker-lost',
          error: { code: 'worker-lost', message: `attempt ${task.attempt} stopped and nothing took it over` },
        },
      };
    }
    default:
      return { kind: 'skip' };
  }
}

export interface ReconcileReport {
  examined: number;
  repaired: { id: string; reason: string; status: TaskStatus }[];
  errors: { where: string; error: unknown }[];
}

const OPEN: readonly TaskStatus[] = ['SCHEDULED', 'QUEUED', 'RUNNING'];

/** One pass: for each rung, the tasks created in the next window of its age, looked at and repaired. */
export async function reconcile(
  store: TaskStore,
  looks: ReconcileLooks,
  settings: ReconcileSettings,
  now = Date.now(),
): Promise<ReconcileReport> {
  const report: ReconcileReport = { examined: 0, repaired: [], errors: [] };
  for (const rung of settings.rungsMs) {
    const name = `reconcile-${rung}`;
    try {
      const end = now - rung;
      const marker = await store.marker(name);
      const from = marker ?? end - settings.firstWindowMs;
      if (from >= end) continue;
      const to = Math.min(end, from + settings.maxWindowMs);
      const tasks = await store.createdBetween(from, to, OPEN);
      report.examined += tasks.length;
      for (const task of tasks) {
        try {
          await repair(store, task, await decideReconcile(task, now, settings, looks), now, report);
        } catch (error) {
          // A task that moved meanwhile is not stuck.
          if (!(error instanceof StaleVersion)) report.errors.push({ where: `task ${task.id}`, error });
        }
      }
      await store.moveMarker(name, marker, to);
    } catch (error) {
      report.errors.push({ where: name, error });
    }
  }
  return report;
}

async function repair(store: TaskStore, task: TaskRecord, decision: ReconcileDecision, now: number, report: ReconcileReport) {
  const actor = 'sweeper';
  switch (decision.kind) {
    case 'skip':
      return;
    case 'redispatch': {
      const after = await store.annotate(task, { reason: decision.reason, actor, bumpVersion: true, now });
      report.repaired.push({ id: task.id, reason: decision.reason, status: after.status });
      return;
    }
    case 'reindex': {
      await store.annotate(task, { reason: 'reconcile:reindexed', actor, bumpVersion: false, set: sweepKey(task.id, decision.at), now });
      report.repaired.push({ id: task.id, reason: 'reconcile:reindexed', status: task.status });
      return;
    }
    case 'recover': {
      const recovered = await recoverLost(store, task, decision.lost, { actor, now });
      if (recovered) report.repaired.push({ id: task.id, reason: recovered.reason, status: recovered.task.status });
      return;
    }
  }
}

/**
 * Whether a task's lane holds no message at all (visible, in flight or delayed), asked of SQS once
 * per lane and pass. SQS's counts are approximate: a wrong "empty" costs one duplicate message,
 * which the version fence drops.
 */
export function laneEmptiness(sqs: SQSClient, urls: Readonly<Record<LaneName, string>>): LaneIsEmpty {
  const seen = new Map<LaneName, Promise<boolean>>();
  return (task) => {
    const lane = laneFor(task.priority, task.runtime);
    let empty = seen.get(lane);
    if (!empty) {
      empty = sqs
        .send(
          new GetQueueAttributesCommand({
            QueueUrl: urls[lane],
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        )
        .then((out) => Object.values(out.Attributes ?? {}).every((n) => Number(n) === 0));
      seen.set(lane, empty);
    }
    return empty;
  };
}

/** Where a waiting task stands, on whichever of its limits its `waitingFor` names. */
export function waiterStanding(limits: LimitStore): ReconcileLooks['waiter'] {
  return (task) => limits.standing(waitedLimitIds(task), task);
}
