/** Limits shared by intake validation, the handlers and the stack. */

/** Lambda's own ceiling; the worker function is deployed with it. */
export const WORKER_TIMEOUT_SECONDS = 900;
/** A Lambda task must finish this long before the worker's own timeout, to record its outcome. */
export const WORKER_FINISH_MARGIN_SECONDS = 60;
export const MAX_LAMBDA_TASK_TIMEOUT_SECONDS = WORKER_TIMEOUT_SECONDS - WORKER_FINISH_MARGIN_SECONDS;
/** Containers have no platform limit; this bounds a runaway job. */
export const MAX_CONTAINER_TASK_TIMEOUT_SECONDS = 7 * 24 * 3600;

export const DEFAULT_TIMEOUT_SECONDS = 60;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const MAX_ATTEMPTS_LIMIT = 100;

/**
 * The API stage's throttling unless the stack is given other figures: steady requests a second
 * and burst. A stage cannot take more than the account's regional quota (10,000 a second by default).
 */
export const DEFAULT_API_THROTTLING = { rateLimit: 1000, burstLimit: 2000 } as const;

/** Largest request body the intake accepts (API Gateway allows 10 MB; tasks are not file transfer). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest payload of one task (DynamoDB items stop at 400 KB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Largest result a task may return. */
export const MAX_RESULT_BYTES = 256 * 1024;
export const MAX_BATCH_TASKS = 100;
/** Furthest a task can be scheduled ahead. */
export const MAX_SCHEDULE_AHEAD_SECONDS = 365 * 24 * 3600;
/** SQS's longest retention (14 days): lanes and DLQs keep messages this long. */
export const MAX_SQS_RETENTION_SECONDS = 14 * 24 * 3600;
/** SQS's own ceiling on DelaySeconds. */
export const MAX_SQS_DELAY_SECONDS = 900;
/** Idempotency keys are remembered this long. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** The launcher only calls RunTask; a minute is plenty. */
export const LAUNCHER_TIMEOUT_SECONDS = 60;
/** A sweeper pass: under the one-minute rule's period, so passes do not overlap. */
export const SWEEPER_TIMEOUT_SECONDS = 55;
/** A schedule tick creates at most one task. */
export const SCHEDULE_FIRE_TIMEOUT_SECONDS = 30;
/** A batch of schedule changes, or the repair pass, written to EventBridge Scheduler. */
export const SCHEDULE_SYNC_TIMEOUT_SECONDS = 30;
/**
 * The recovery bound: a task whose worker or container dies is running again (or failed as
 * poison, with its reason) within this many seconds. Lane visibility timeouts and attempt leases
 * are derived from it.
 */
export const DEFAULT_RECOVERY_SECONDS = 60;
/** The shortest recovery bound that still leaves heartbeats a margin (tests use a few seconds). */
export const MIN_RECOVERY_SECONDS = 3;

/**
 * The queue's own visibility timeout of a lane: what a message gets when it is received. Lambda
 * refuses to map a queue whose visibility timeout is below the function's timeout
 * (`InvalidParameterValueException: Queue visibility timeout … is less than Function timeout`),
 * so worker lanes get exactly the worker's timeout, and the worker shortens it at once (see
 * heldVisibilitySeconds). The launcher's lane keeps the six-times guidance: it never holds a
 * message for long.
 */
export function laneVisibilitySeconds(consumer: 'worker' | 'launcher', workerTimeoutSeconds = WORKER_TIMEOUT_SECONDS): number {
  return consumer === 'worker' ? workerTimeoutSeconds : 6 * LAUNCHER_TIMEOUT_SECONDS;
}

/**
 * An attempt's lease (Lambda and container alike): 40 % of the recovery bound, renewed every
 * third of it. A duplicate or redelivered message that finds the lease alive leaves the attempt
 * alone; one that finds it expired takes over. The rest of the bound is left for the message to
 * be received again and the task started (a busy lane delivers it behind its backlog).
 */
export const attemptLeaseMs = (recoverySeconds = DEFAULT_RECOVERY_SECONDS): number => Math.max(1000, recoverySeconds * 400);

/**
 * The visibility a live worker keeps on the messages of its batch: one second longer than the
 * attempt lease — so a dead worker's message comes back just after its lease expired and takes
 * over at once — set as the worker's first act and renewed every third of it
 * (ChangeMessageVisibility), so only a dead worker's messages come back, within the bound. This
 * departs from the "six times the function timeout" guidance, which assumes a consumer that never
 * extends visibility. A worker that dies before that first change is answered (no task of the
 * batch starts before) leaves its messages invisible for the queue's own timeout, the function's.
 */
export const heldVisibilitySeconds = (recoverySeconds = DEFAULT_RECOVERY_SECONDS): number =>
  Math.ceil(attemptLeaseMs(recoverySeconds) / 1000) + 1;

/** How long a launched container may take to start its task before the sweeper re-dispatches it. */
export const LAUNCH_GRACE_SECONDS = 300;
/** Default timeout of an attempt moved to a container after its Lambda attempt timed out. */
export const DEFAULT_CONTAINER_TIMEOUT_SECONDS = 3600;
/** Most containers running at once. */
export const DEFAULT_CONTAINER_CAP = 10;

/** A Lambda task that finishes within this long costs one state write instead of two (no separate start write). */
export const DEFAULT_LAZY_START_MS = 1000;

/** EventBridge Scheduler's finest granularity; the local runtime goes lower (SLUICE_MIN_EVERY_SECONDS). */
export const SCHEDULER_MIN_EVERY_SECONDS = 60;
