/**
 * What happens after an attempt ends: pure decisions, returned as a discriminated union and
 * applied by the caller (the store write is not made here).
 */
import { DEFAULT_CONTAINER_TIMEOUT_SECONDS, MAX_SQS_DELAY_SECONDS } from './limits.ts';
import type { TaskError, TaskRecord } from './model.ts';
import type { TaskAction } from './state-machine.ts';
import type { RetryPolicy } from './task-types.ts';

/** The history reason of a Lambda attempt's timeout that sends the next attempt to a container. */
export const TIMEOUT_TO_CONTAINER = 'timeout-to-container';

export const DEFAULT_RETRY: Required<RetryPolicy> = { baseDelaySeconds: 2, maxDelaySeconds: 3600 };

/**
 * Exponential backoff with "equal jitter": half of the doubled delay is fixed, half random, so
 * retries spread out but never come back sooner than half the nominal delay.
 */
export function backoffMs(attempt: number, policy: RetryPolicy = {}, random: () => number = Math.random): number {
  const base = (policy.baseDelaySeconds ?? DEFAULT_RETRY.baseDelaySeconds) * 1000;
  const cap = (policy.maxDelaySeconds ?? DEFAULT_RETRY.maxDelaySeconds) * 1000;
  const nominal = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}

/** How an attempt ended, as the runner observed it. */
export type AttemptEnd =
  | { kind: 'succeeded'; result: string }
  | { kind: 'errored'; error: TaskError; retryable: boolean }
  | { kind: 'interrupted'; control: 'pause' | 'cancel' }
  /** The runner must stop (SIGTERM, Spot interruption): hand the task back without using an attempt. */
  | { kind: 'evicted'; reason: string };

export interface Decision {
  action: TaskAction;
  reason: string;
  set: Partial<TaskRecord>;
  remove?: ('control' | 'error' | 'notBefore' | 'checkpoint' | 'progress')[];
}

/** What a task type says about retrying (a subset of its definition). */
export interface RetryRules extends RetryPolicy {
  onTimeout?: 'container';
  containerTimeoutSeconds?: number;
}

export function decideAfterAttempt(task: TaskRecord, end: AttemptEnd, now: number, policy?: RetryRules, random?: () => number): Decision {
  switch (end.kind) {
    case 'succeeded':
      return {
        action: 'succeed',
        reason: 'completed',
        set: { result: end.result, finishedAt: now },
        remove: ['control', 'error', 'checkpoint'],
      };
    case 'interrupted':
      if (end.control === 'pause' && task.control !== 'pause') {
        // The pause the task stopped for was withdrawn meanwhile (a resume; a cancel cannot be):
        // it goes back to its lane without using an attempt, its checkpoint kept.
        return { action: 'requeue', reason: 'pause-withdrawn', set: { attempt: task.attempt - 1, queuedAt: now }, remove: ['control'] };
      }
      return end.control === 'cancel'
        ? { action: 'abort', reason: 'cancelled', set: { finishedAt: now }, remove: ['control'] }
        : // Pausing does not consume an attempt: the next start reuses this attempt's number.
          { action: 'yield', reason: 'paused', set: { attempt: task.attempt - 1 }, remove: ['control'] };
    case 'evicted':
      return {
        action: 'requeue',
        reason: end.reason,
        set: { attempt: task.attempt - 1, queuedAt: now },
        remove: ['control'],
      };
    case 'errored': {
      if (!end.retryable || task.attempt >= task.maxAttempts) {
        return {
          action: 'fail',
          reason: end.retryable ? 'attempts-exhausted' : 'non-retryable',
          set: { error: end.error, finishedAt: now },
          remove: ['control'],
        };
      }
      if (end.error.code === 'timeout' && policy?.onTimeout === 'container' && task.runtime === 'lambda') {
        // Too long for Lambda: the next attempt runs in a container, at once.
        return {
          action: 'requeue',
          reason: TIMEOUT_TO_CONTAINER,
          set: {
            error: end.error,
            queuedAt: now,
            runtime: 'container',
            timeoutSeconds: policy.containerTimeoutSeconds ?? DEFAULT_CONTAINER_TIMEOUT_SECONDS,
          },
          remove: ['control'],
        };
      }
      const delay = backoffMs(task.attempt, policy, random);
      if (delay > MAX_SQS_DELAY_SECONDS * 1000) {
        return {
          action: 'defer',
          reason: `retry-backoff:${end.error.code}`,
          set: { error: end.error, runAt: now + delay },
          remove: ['control'],
        };
      }
      return {
        action: 'requeue',
        reason: `retry-backoff:${end.error.code}`,
        set: { error: end.error, queuedAt: now, notBefore: now + delay },
        remove: ['control'],
      };
    }
  }
}

/** Why an attempt is known to have stopped without recording its outcome. */
export interface LostAttempt {
  /** The history reason of the recovery (`worker-lost`, `lease-expired/container-exit-137`, …). */
  reason: string;
  /** What the task's `error` says about it. */
  error: TaskError;
}

/**
 * What to do with a RUNNING task whose attempt is gone (its worker or container died, its lease
 * expired): one decision for every place that finds such a task — a redelivered message, the
 * sweeper's dead-letter drain, the sweeper and the reconciliation. A pending control request is honoured
 * (the task is cancelled or paused); otherwise the task is queued again for a new attempt, or
 * FAILED as `poison` when its attempts are spent.
 */
export function decideLost(task: TaskRecord, lost: LostAttempt, now: number): Decision {
  if (task.control === 'cancel') return { action: 'abort', reason: 'cancel-forced', set: { finishedAt: now }, remove: ['control'] };
  if (task.control === 'pause') return { action: 'yield', reason: lost.reason, set: { attempt: task.attempt - 1 }, remove: ['control'] };
  if (task.attempt >= task.maxAttempts) {
    return {
      action: 'fail',
      reason: 'poison',
      set: {
        error: { code: 'poison', message: `${lost.error.message} (${lost.reason}); no attempts left` },
        finishedAt: now,
      },
      remove: ['control'],
    };
  }
  return { action: 'requeue', reason: lost.reason, set: { error: lost.error, queuedAt: now }, remove: ['control'] };
}
