/**
 * Claiming the task a message names, and handling one message end to end: the exclusive start
 * (or a takeover from a dead worker, or the recovery of a task that must not run again), then
 * the attempt (execution.ts).
 */

import type { TaskMessage } from './dispatch.ts';
import { movedOn } from './errors.ts';
import { type AttemptOptions, type AttemptReport, runAttempt } from './execution.ts';
import type { TaskRecord } from './model.ts';
import type { RateGate } from './rate-gate.ts';
import { recoverLost } from './recovery.ts';
import type { TaskStore } from './store.ts';

export interface ClaimOptions {
  /** The lease a new attempt starts with. */
  leaseMs: number;
  /**
   * The worker function's timeout: an attempt started longer ago than this has certainly stopped
   * (used for attempts recorded without a lease, by versions before leases).
   */
  workerTimeoutMs: number;
  now?: number;
}

export type ClaimOutcome =
  | { kind: 'started'; task: TaskRecord }
  /** The message was stale (duplicate, or the task moved on): delete it. */
  | { kind: 'stale' }
  /**
   * The attempt this message started is alive (its lease holds): this is a duplicate delivery.
   * Keep it out of sight until the lease would expire: if the attempt's worker dies, it is the
   * watchdog that takes over.
   */
  | { kind: 'held'; retryAfterMs: number }
  /** The attempt this message started is gone and the task could not run again: it was failed, cancelled or paused. */
  | { kind: 'recovered'; task: TaskRecord };

export type MessageOutcome =
  | Exclude<ClaimOutcome, { kind: 'started' }>
  | { kind: 'ran'; task: TaskRecord; report: AttemptReport }
  /** A rate limit turned it away: it comes back at its reserved start (a new version, with an SQS delay). */
  | { kind: 'deferred'; until: number };

/** A RUNNING task's attempt is alive while its lease holds (or, without one, while its worker could still be running). */
export const attemptAliveUntil = (task: TaskRecord, workerTimeoutMs: number): number =>
  task.leaseUntil ?? (task.startedAt ?? 0) + workerTimeoutMs;

/**
 * Claim the task a message names, exclusively: start it with one conditional write, or — when
 * the message started the current attempt and that attempt's lease has expired (its worker died)
 * — take over with a new attempt, or settle the task (poison, a pending cancel or pause) when it
 * must not run again.
 */
export async function claimMessage(message: TaskMessage, store: TaskStore, actor: string, options: ClaimOptions): Promise<ClaimOutcome> {
  const now = options.now ?? Date.now();
  const claim = await store.start(message, actor, { now, set: { leaseUntil: now + options.leaseMs } });
  if (claim.started) return { kind: 'started', task: claim.started };
  const current = claim.current;
  if (current?.status !== 'RUNNING' || current.claim !== message.v) return { kind: 'stale' };
  const aliveUntil = attemptAliveUntil(current, options.workerTimeoutMs);
  if (now < aliveUntil) return { kind: 'held', retryAfterMs: aliveUntil - now };
  const lost = {
    reason: 'worker-lost',
    error: { code: 'worker-lost', message: `the worker running attempt ${current.attempt} stopped (crash, timeout or out of memory)` },
  };
  // A re-queue is a takeover: this delivery starts the next attempt in the same write.
  const recovered = await recoverLost(store, current, lost, {
    actor,
    now,
    requeue: (latest, decision) => ({
      action: 'restart',
      reason: lost.reason,
      actor,
      set: { ...decision.set, attempt: latest.attempt + 1, startedAt: now, leaseUntil: now + options.leaseMs },
      entries: [
        { from: 'RUNNING', to: 'QUEUED', reason: lost.reason },
        { from: 'QUEUED', to: 'RUNNING', reason: 'start' },
      ],
      now,
    }),
  });
  if (!recovered) return { kind: 'stale' }; // another delivery took over first, or the worker lives
  const { task } = recovered;
  return task.status === 'RUNNING' ? { kind: 'started', task } : { kind: 'recovered', task };
}

export interface MessageOptions extends Omit<AttemptOptions, 'unstarted'> {
  /** The worker function's timeout, in milliseconds. */
  workerTimeoutMs: number;
  /** Idempotent types: run short tasks without a separate start write (0 or absent: always write the start first). */
  lazyStartMs?: number;
  /**
   * How many times SQS delivered this message. A redelivery means an earlier try died without a
   * trace, so it always starts with a write: a task that keeps crashing then uses up its attempts.
   */
  receiveCount?: number;
  /** Checks the message's rate limits before the start (absent: messages carry none here). */
  rateGate?: RateGate;
}

/** Turn a rate-limited task away until its reserved start, as a new version the dispatcher sends with a delay. */
async function deferForRate(message: TaskMessage, until: number, options: MessageOptions): Promise<MessageOutcome> {
  const task = await options.store.findForMessage(message.id, message.v);
  if (!task || task.version !== message.v || (task.status !== 'QUEUED' && task.status !== 'SCHEDULED')) return { kind: 'stale' };
  const now = Date.now();
  const limits = (message.r ?? []).map(([id]) => id.replace(/^declared#[^#]+#/, '')).join(', ');
  try {
    await options.store.annotate(task, {
      reason: `rate-limited: ${limits}; delayed ${((until - now) / 1000).toFixed(1)} s`,
      actor: options.actor,
      set: { rateReservation: until, ...(task.status === 'SCHEDULED' ? { runAt: until } : { notBefore: until }) },
      bumpVersion: true,
      now,
    });
  } catch (error) {
    // It moved on meanwhile. A refused write is thrown, so the message comes back and is tried
    // again: taken for stale, it would be deleted with its task still QUEUED and nothing sent.
    if (movedOn(error)) return { kind: 'stale' };
    throw error;
  }
  return { kind: 'deferred', until };
}

/**
 * Handle one task message: claim the task, run the attempt, record its outcome.
 *
 * The start is an exclusive conditional write, so no task body runs twice at once. A task type
 * that declares itself idempotent (the message says so) may instead be run after a read, and
 * a task that finishes within `lazyStartMs` then costs one write (start and outcome together)
 * instead of two — at the price that a duplicate delivery may run it twice.
 */
export async function processMessage(message: TaskMessage, options: MessageOptions): Promise<MessageOutcome> {
  // A rate-limited start always goes through the gate and a start write, idempotent or not.
  if (message.i && !message.r && options.lazyStartMs && (options.receiveCount ?? 1) <= 1) {
    const seen = await options.store.findForMessage(message.id, message.v);
    if (seen?.status === 'QUEUED' && seen.version === message.v && options.registry.isIdempotent(seen.type)) {
      const running: TaskRecord = { ...seen, status: 'RUNNING', attempt: message.a, startedAt: Date.now() };
      const unstarted = { queued: seen, message, lazyStartMs: options.lazyStartMs };
      return { kind: 'ran', task: running, report: await runAttempt(running, { ...options, unstarted }) };
    }
    // Certainly stale, without spending a conditional write to find out.
    const maybeOurs = seen && (seen.version === message.v || (seen.status === 'RUNNING' && seen.claim === message.v));
    if (!maybeOurs) return { kind: 'stale' };
  }
  // The start is recorded at the time the rate gate counted it, so the task's startedAt and the
  // gate's window agree (a slow start write cannot make recorded starts bunch up).
  const now = Date.now();
  if (message.r && options.rateGate) {
    const rates = message.r.map(([id, limit, periodSeconds]) => ({ id, rate: { limit, periodSeconds } }));
    const decision = await options.rateGate.check(rates, now, message.rr);
    if (decision.kind === 'wait') return deferForRate(message, decision.until, options);
  }
  const claim = await claimMessage(message, options.store, options.actor, {
    leaseMs: options.lease.ms,
    workerTimeoutMs: options.workerTimeoutMs,
    now,
  });
  if (claim.kind !== 'started') return claim;
  return { kind: 'ran', task: claim.task, report: await runAttempt(claim.task, options) };
}
