/**
 * The state machine of DESIGN.md as data: which action may move a task from which statuses, and
 * where to. Pure: the store turns a rule into one conditional write.
 */
import type { TaskStatus } from './model.ts';

export type TaskAction =
  | 'due' // SCHEDULED → QUEUED
  | 'start' // QUEUED → RUNNING
  | 'succeed' // RUNNING → SUCCEEDED
  | 'fail' // RUNNING → FAILED (no attempts left, non-retryable, poison)
  | 'requeue' // RUNNING → QUEUED (error with attempts left, lease expired, SIGTERM)
  | 'defer' // RUNNING → SCHEDULED (a retry backoff longer than SQS can delay)
  | 'pause' // QUEUED/SCHEDULED → PAUSED at once
  | 'yield' // RUNNING → PAUSED (the task honoured a pause request)
  | 'resume' // PAUSED → QUEUED
  | 'cancel' // any non-terminal, non-running → CANCELLED at once
  | 'abort' // RUNNING → CANCELLED (the task honoured, or outlived, a cancel request)
  | 'retry' // terminal → QUEUED, a new attempt series
  | 'reprioritise' // QUEUED → QUEUED in another lane (a new version for the dispatcher)
  | 'restart'; // RUNNING → (QUEUED →) RUNNING: a redelivered message takes over from a worker that died

export interface TransitionRule {
  readonly from: readonly TaskStatus[];
  readonly to: TaskStatus;
}

export const TRANSITIONS: Readonly<Record<TaskAction, TransitionRule>> = {
  due: { from: ['SCHEDULED'], to: 'QUEUED' },
  start: { from: ['QUEUED'], to: 'RUNNING' },
  succeed: { from: ['RUNNING'], to: 'SUCCEEDED' },
  fail: { from: ['RUNNING'], to: 'FAILED' },
  requeue: { from: ['RUNNING'], to: 'QUEUED' },
  defer: { from: ['RUNNING'], to: 'SCHEDULED' },
  pause: { from: ['QUEUED', 'SCHEDULED'], to: 'PAUSED' },
  yield: { from: ['RUNNING'], to: 'PAUSED' },
  resume: { from: ['PAUSED'], to: 'QUEUED' },
  cancel: { from: ['QUEUED', 'SCHEDULED', 'PAUSED'], to: 'CANCELLED' },
  abort: { from: ['RUNNING'], to: 'CANCELLED' },
  retry: { from: ['SUCCEEDED', 'FAILED', 'CANCELLED'], to: 'QUEUED' },
  reprioritise: { from: ['QUEUED'], to: 'QUEUED' },
  restart: { from: ['RUNNING'], to: 'RUNNING' },
};

export const canApply = (action: TaskAction, status: TaskStatus): boolean => TRANSITIONS[action].from.includes(status);

/** Every (from, to) pair a history may record; property tests check recorded histories against it. */
export const LEGAL_EDGES: ReadonlySet<string> = new Set([
  ...Object.entries(TRANSITIONS)
    .filter(([action]) => action !== 'restart') // recorded as RUNNING → QUEUED → RUNNING
    .flatMap(([, r]) => r.from.map((f) => `${f}>${r.to}`)),
  'null>QUEUED',
  'null>SCHEDULED',
  // annotations: a control request or a new priority, recorded as status → same status
  ...(['SCHEDULED', 'QUEUED', 'RUNNING', 'PAUSED'] as const).map((s) => `${s}>${s}`),
]);
