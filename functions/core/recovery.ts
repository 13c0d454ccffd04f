/**
 * Recording a lost attempt: the one write every place that finds one makes (a redelivered
 * message taking over, the dead-letter handler, the sweeper, the reconciliation). The decision is
 * decideLost's; the write is fenced on what it was decided from — the version, the expired lease
 * (a heartbeat renewing it means the worker lives) and the control request (a pause withdrawn
 * meanwhile changes the decision: neither changes the version). When only the control request
 * moved, the decision is made again on the fresh item.
 */
import { StaleVersion } from './errors.ts';
import type { TaskRecord } from './model.ts';
import { type Decision, decideLost, type LostAttempt } from './retrying.ts';
import type { TaskStore, TransitionRequest } from './store.ts';

/** The fence of a write decided from `task` while it was RUNNING. */
const runningFence = (task: TaskRecord): Pick<TransitionRequest, 'expectLease' | 'expectControl'> => ({
  ...(task.leaseUntil === undefined ? {} : { expectLease: task.leaseUntil }),
  expectControl: task.control ?? null,
});

export interface RecoverOptions {
  actor: string;
  now: number;
  /** How to write a re-queue (a takeover re-queues and starts in one write). @default the decision as it is */
  requeue?: (task: TaskRecord, decision: Decision) => Omit<TransitionRequest, 'expectLease' | 'expectControl'>;
}

/**
 * Recover `task`'s lost attempt. Returns the task after the write and the reason it recorded, or
 * undefined when someone else moved it first (another recovery, a renewal, an outcome): then there
 * is nothing to recover.
 */
export async function recoverLost(
  store: TaskStore,
  task: TaskRecord,
  lost: LostAttempt,
  options: RecoverOptions,
): Promise<{ task: TaskRecord; reason: string } | undefined> {
  let current = task;
  for (let round = 0; round < 3; round++) {
    const decision = decideLost(current, lost, options.now);
    const request =
      decision.action === 'requeue' && options.requeue
        ? options.requeue(current, decision)
        : { ...decision, actor: options.actor, now: options.now };
    try {
      return { task: await store.transition(current, { ...request, ...runningFence(current) }), reason: request.reason };
    } catch (error) {
      if (!(error instanceof StaleVersion)) throw error;
      const fresh = error.current;
      // Only the control request changed (the version and lease are as decided on): decide again.
      if (fresh?.status !== 'RUNNING' || fresh.version !== current.version || fresh.leaseUntil !== current.leaseUntil) return undefined;
      current = fresh;
    }
  }
  return undefined;
}
