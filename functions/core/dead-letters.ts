/**
 * What to do with a task whose message reached a lane's DLQ (it was received maxReceiveCount
 * times without being deleted: its worker kept crashing, or its duplicates kept being held).
 */

import { attemptAliveUntil } from './claiming.ts';
import type { TaskMessage } from './dispatch.ts';
import { StaleVersion } from './errors.ts';
import { WORKER_TIMEOUT_SECONDS } from './limits.ts';
import type { TaskRecord } from './model.ts';
import { recoverLost } from './recovery.ts';
import type { TaskStore } from './store.ts';

export type DeadLetterOutcome = 'recovered' | 'redispatched' | 'stale';

export interface DeadLetterResult {
  outcome: DeadLetterOutcome;
  /** The task after the recovery, when there was one. */
  task?: TaskRecord;
}

export async function recoverDeadLetter(
  store: TaskStore,
  message: TaskMessage,
  receiveCount: number,
  now = Date.now(),
): Promise<DeadLetterResult> {
  const task = await store.find(message.id);
  if (!task) return { outcome: 'stale' };
  try {
    if (task.status === 'RUNNING' && task.claim === message.v) {
      // A live attempt holds its own copy of the message: this one was a duplicate.
      if (now < attemptAliveUntil(task, WORKER_TIMEOUT_SECONDS * 1000)) return { outcome: 'stale' };
      const lost = {
        reason: 'dead-letter',
        error: {
          code: 'worker-lost',
          message: `its message was delivered ${receiveCount} times without an outcome (crash, timeout or out of memory)`,
        },
      };
      const recovered = await recoverLost(store, task, lost, { actor: 'system', now });
      return recovered ? { outcome: 'recovered', task: recovered.task } : { outcome: 'stale' };
    }
    if (isUnstarted(task, message)) {
      // Never started (the start write itself kept failing): send it again rather than lose it.
      return {
        outcome: 'redispatched',
        task: await store.annotate(task, { reason: 'dlq-redrive', actor: 'system', bumpVersion: true, now }),
      };
    }
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error;
  }
  return { outcome: 'stale' };
}

const isUnstarted = (task: TaskRecord, message: TaskMessage) =>
  (task.status === 'QUEUED' || task.status === 'SCHEDULED') && task.version === message.v;
