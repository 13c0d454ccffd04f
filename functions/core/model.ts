/** The task model: statuses, priorities, runtimes and the shapes stored and returned. */

export const STATUSES = ['SCHEDULED', 'QUEUED', 'RUNNING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof STATUSES)[number];

export const TERMINAL_STATUSES: readonly TaskStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
export const isTerminal = (s: TaskStatus): boolean => TERMINAL_STATUSES.includes(s);

/** How early a delayed task may start: a delayed SQS message can arrive a little before runAt. */
export const DUE_SLACK_MS = 1000;
/** A SCHEDULED task whose time has come (the one due check: the start write, the launcher and the sweeper use it). */
export const isDue = (task: Pick<TaskRecord, 'status' | 'runAt'>, now: number): boolean =>
  task.status === 'SCHEDULED' && (task.runAt ?? 0) <= now + DUE_SLACK_MS;

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const RUNTIMES = ['lambda', 'container'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export type ControlRequest = 'pause' | 'cancel';

export interface TaskError {
  code: string;
  message: string;
}

export interface Progress {
  percent: number;
  message?: string;
  updatedAt: number;
}

/** One history entry: every transition appends one, in the same write. */
export interface TaskEvent {
  at: number;
  from: TaskStatus | null;
  to: TaskStatus;
  reason: string;
  attempt: number;
  actor: string;
}

/**
 * The task as stored (timestamps are epoch milliseconds, payload and result are JSON text).
 * `payload`/`result` are absent when they live in their own item (`payloadRef`/`resultRef`),
 * which keeps every status update of the state item at 1 WRU.
 */
export interface TaskRecord {
  id: string;
  type: string;
  status: TaskStatus;
  priority: Priority;
  runtime: Runtime;
  attempt: number;
  maxAttempts: number;
  timeoutSeconds: number;
  version: number;
  createdAt: number;
  updatedAt: number;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  runAt?: number;
  /** Earliest time the next attempt may start (retry backoff); the dispatcher turns it into an SQS delay. */
  notBefore?: number;
  payload?: string;
  payloadRef?: boolean;
  result?: string;
  /** Where the result blob is (a key suffix; `true` on items written before results had keys of their own). */
  resultRef?: string | boolean;
  /** Saved checkpoint state (JSON text), handed to the next attempt as ctx.state. */
  checkpoint?: string;
  progress?: Progress;
  error?: TaskError;
  control?: ControlRequest;
  history: string[];
  historyDropped?: number;
  /** The message version that started the current attempt: a redelivery of it means its worker died. */
  claim?: number;
  /** Its type declared itself idempotent (copied at intake, so the dispatcher can tell the worker). */
  idempotent?: boolean;
  /** Sparse sweep index keys: present only while the sweeper must watch the task. */
  sweepShard?: string;
  sweepAt?: number;
  /**
   * The running attempt's lease, which its heartbeats extend (Lambda and container attempts), or,
   * while a container is launching, the launch's. Only container leases are in the sweep index.
   */
  leaseUntil?: number;
  /** The container running the attempt (ECS task ARN; a process locally), for StopTask. */
  containerRef?: string;
  /** When the current container launch was made: the sweeper gives it LAUNCH_GRACE_SECONDS to start the task. */
  launchedAt?: number;
  /** When the current control request was made (forced cancel counts its grace period from it). */
  controlAt?: number;
  /** The schedule that created it, and the tick (scheduled time) it was created for. */
  scheduleName?: string;
  scheduleTick?: number;
  /** Absent for the `default` tenant (whose tasks pay nothing for tenancy). */
  tenant?: string;
  concurrencyKey?: string;
  /**
   * Its dispatch goes through admission (limits, fair share): set at intake when any limit can
   * apply to it; a task without it costs nothing extra.
   */
  limited?: boolean;
  /** Limits its type declares (copied at intake: the dispatcher and the worker carry no task types). */
  typeLimits?: DeclaredLimits;
  /** The limit a QUEUED task waits for a slot of (set when it was parked, cleared when woken). */
  waitingFor?: {
    scope: string;
    key: string;
    /**
     * Set on the last task a batch submission parked on this limit: its insert reaches the
     * dispatcher (the others' do not), which then fills the limit's free slots from its waiters.
     */
    fill?: true;
  };
  /** A start time a rate limit reserved for it (the worker honours it). */
  rateReservation?: number;
}

/** What a task type may declare (defineTask), by which of the task's keys it counts. */
export const LIMIT_KEYS = ['tenant', 'concurrencyKey', 'type'] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];
export interface DeclaredLimits {
  concurrency?: { limit: number; key: LimitKey };
  rateLimit?: { limit: number; periodSeconds: number; key: LimitKey };
}

/** The tenant of untagged tasks. */
export const DEFAULT_TENANT = 'default';
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { critical: 0, high: 1, normal: 2, low: 3 };
