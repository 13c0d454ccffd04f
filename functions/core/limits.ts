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

/** Largest request body the intake accepts (API Gateway allows 10 MB; tasks are not file transfer). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest payload of one task (DynamoDB items stop at 400 KB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Largest result a task may return. */
export const MAX_RESULT_BYTES = 256 * 1024;
export const MAX_BATCH_TASKS = 100;
/** Furthest a task can be scheduled ahead. */
export const MAX_SCHEDULE_AHEAD_SECONDS = 365 * 24 * 3600;
/** SQS's own ceiling on DelaySeconds. */
export const MAX_SQS_DELAY_SECONDS = 900;
/** Idempotency keys are remembered this long. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** The launcher only calls RunTask; a minute is plenty. */
export const LAUNCHER_TIMEOUT_SECONDS = 60;
/** Visibility timeout of a lane: six times the timeout of the function that drains it (AWS guidance for Lambda consumers). */
export const laneVisibilitySeconds = (consumer: 'worker' | 'launcher', workerTimeoutSeconds = WORKER_TIMEOUT_SECONDS): number =>
  6 * (consumer === 'worker' ? workerTimeoutSeconds : LAUNCHER_TIMEOUT_SECONDS);

/** A container attempt's lease; its runner heartbeats every third of it. */
export const DEFAULT_LEASE_SECONDS = 90;
/** How long a launched container may take to start its task before the sweeper re-dispatches it. */
export const LAUNCH_GRACE_SECONDS = 300;
/** Default timeout of an attempt moved to a container after its Lambda attempt timed out. */
export const DEFAULT_CONTAINER_TIMEOUT_SECONDS = 3600;
/** Most containers running at once. */
export const DEFAULT_CONTAINER_CAP = 10;

/** A Lambda task that finishes within this long costs one state write instead of two (no separate start write). */
export const DEFAULT_LAZY_START_MS = 1000;
