/**
 * What to do with a task whose message reached a lane's DLQ (it was received maxReceiveCount
 * times without being deleted: its worker kept crashing, timing out or running out of memory).
 */
import type { TaskMessage } from './dispatch.ts';
import { StaleVersion } from './errors.ts';
import type { TaskRecord } from './model.ts';
import type { TaskStore } from './store.ts';

export type DeadLetterOutcome = 'failed-poison' | 'redispatched' | 'stale';

export async function recoverDeadLetter(
  store: TaskStore,
  message: TaskMessage,
  receiveCount: number,
  now = Date.now(),
): Promise<DeadLetterOutcome> {
  const task = await store.find(message.id);
  if (!task) return 'stale';
  try {
    if (task.status === 'RUNNING' && task.claim === message.v) {
      await store.transition(task, {
        action: 'fail',
        reason: 'poison',
        actor: 'system',
        set: {
          error: { code: 'poison', message: `its message crashed the worker ${receiveCount} times (crash, timeout or out of memory)` },
          finishedAt: now,
        },
        remove: ['control'],
        now,
      });
      return 'failed-poison';
    }
    if (isUnstarted(task, message)) {
      // Never started (the start write itself kept failing): send it again rather than lose it.
      await store.annotate(task, { reason: 'dlq-redrive', actor: 'system', bumpVersion: true, now });
      return 'redispatched';
    }
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error;
  }
  return 'stale';
}

const isUnstarted = (task: TaskRecord, message: TaskMessage) =>
  (task.status === 'QUEUED' || task.status === 'SCHEDULED') && task.version === message.v;
