/**
 * The HTTP contract, written once: every route (method, path, what it takes, what it answers) and
 * the public shapes as zod schemas. The intake dispatches from this table (binding a handler to
 * each operation), the stack creates an API Gateway route per entry, the OpenAPI document is
 * generated from it, and the CLI takes its types from the shapes. Pure data: no handler code, so
 * the stack can read it.
 */
import * as z from 'zod/mini';
import { BulkRequestSchema } from '#core/bulk.ts';
import { PRIORITIES, RUNTIMES, STATUSES } from '#core/model.ts';
import {
  OVERLAP_POLICIES,
  RunListQuerySchema,
  SCHEDULE_STATES,
  ScheduleCreateSchema,
  ScheduleListQuerySchema,
  SchedulePatchSchema,
} from '#core/schedules.ts';
import { StatsQuerySchema } from '#core/stats-window.ts';
import { isValidCursor } from '#core/store.ts';
import { BatchSubmissionSchema, TaskSubmissionSchema, TaskTemplateSchema } from '#core/submission.ts';
import { LIMIT_SCOPES, LimitUpdateSchema, RateSchema, TenantKeySchema } from '#core/tenancy.ts';

const time = z.string();
const nullableTime = z.nullable(z.string());

/** A task as the API shows it (times are ISO 8601). */
export const TaskViewSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: z.enum(STATUSES),
  priority: z.enum(PRIORITIES),
  runtime: z.enum(RUNTIMES),
  payload: z.unknown(),
  progress: z.nullable(z.object({ percent: z.number(), message: z.nullable(z.string()), updatedAt: time })),
  attempt: z.number(),
  maxAttempts: z.number(),
  timeoutSeconds: z.number(),
  result: z.unknown(),
  error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  control: z.nullable(z.enum(['pause', 'cancel'])),
  createdAt: time,
  queuedAt: nullableTime,
  startedAt: nullableTime,
  finishedAt: nullableTime,
  runAt: nullableTime,
  updatedAt: time,
  version: z.number(),
  /** The schedule that created it and the tick (scheduled time) it was created for. */
  schedule: z.nullable(z.object({ name: z.string(), tick: time })),
  tenant: z.string(),
  concurrencyKey: z.nullable(z.string()),
  /** The limit a QUEUED task waits for a slot of (it is not in its lane meanwhile). */
  waitingFor: z.nullable(z.object({ scope: z.string(), key: z.string() })),
});
export type TaskView = z.infer<typeof TaskViewSchema>;

/** One history entry as the API shows it. */
export const TaskEventViewSchema = z.object({
  at: time,
  from: z.nullable(z.enum(STATUSES)),
  to: z.enum(STATUSES),
  reason: z.string(),
  attempt: z.number(),
  actor: z.string(),
});
export type TaskEventView = z.infer<typeof TaskEventViewSchema>;

export const TaskPageSchema = z.object({ items: z.array(TaskViewSchema), cursor: z.nullable(z.string()) });
export const TaskListSchema = z.object({ items: z.array(TaskViewSchema) });
export const TaskEventsSchema = z.object({ items: z.array(TaskEventViewSchema) });
export const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ApiErrorBody = z.infer<typeof ErrorSchema>;

export const PriorityChangeSchema = z.strictObject({ priority: z.enum(PRIORITIES) });

export const ListQuerySchema = z.strictObject({
  status: z.optional(z.enum(STATUSES)),
  priority: z.optional(z.enum(PRIORITIES)),
  type: z.optional(z.string().check(z.maxLength(100))),
  schedule: z.optional(z.string().check(z.maxLength(63))),
  tenant: z.optional(TenantKeySchema),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20),
  cursor: z.optional(z.string().check(z.refine(isValidCursor, 'not a cursor this API returned'))),
});

/** A schedule as the API shows it: its definition, its state, its next runs and its last one. */
export const ScheduleViewSchema = z.object({
  name: z.string(),
  cron: z.nullable(z.string()),
  every: z.nullable(z.string()),
  timezone: z.string(),
  /** The EventBridge Scheduler expression it runs on. */
  expression: z.string(),
  task: TaskTemplateSchema,
  overlap: z.enum(OVERLAP_POLICIES),
  startAt: nullableTime,
  endAt: nullableTime,
  state: z.enum(SCHEDULE_STATES),
  paused: z.nullable(z.object({ at: time, by: z.string() })),
  /** The next fire times, ISO 8601 with the time zone's offset. */
  nextRuns: z.array(z.string()),
  lastRun: z.nullable(z.object({ at: time, tick: time, taskId: z.string(), status: z.nullable(z.enum(STATUSES)) })),
  counts: z.object({ created: z.number(), skipped: z.number() }),
  createdAt: time,
  createdBy: z.string(),
  updatedAt: time,
  version: z.number(),
});
export type ScheduleView = z.infer<typeof ScheduleViewSchema>;

/** One tick as a schedule handled it. */
export const ScheduleRunViewSchema = z.object({
  tick: time,
  at: time,
  kind: z.enum(['created', 'skipped']),
  manual: z.boolean(),
  taskId: z.nullable(z.string()),
  status: z.nullable(z.enum(STATUSES)),
  reason: z.nullable(z.string()),
});
export type ScheduleRunView = z.infer<typeof ScheduleRunViewSchema>;

export const SchedulePageSchema = z.object({ items: z.array(ScheduleViewSchema), cursor: z.nullable(z.string()) });
export const ScheduleRunPageSchema = z.object({ items: z.array(ScheduleRunViewSchema), cursor: z.nullable(z.string()) });
export const TriggerResultSchema = z.object({
  outcome: z.enum(['created', 'skipped']),
  task: z.nullable(TaskViewSchema),
  reason: z.nullable(z.string()),
});
export type TriggerResult = z.infer<typeof TriggerResultSchema>;

/** A limit, where it comes from, and what uses it now. */
export const LimitViewSchema = z.object({
  scope: z.enum(LIMIT_SCOPES),
  key: z.string(),
  concurrency: z.nullable(z.number()),
  rate: z.nullable(RateSchema),
  /** `api`: set with PUT; `default`: a tenant's deployment default. */
  source: z.enum(['api', 'default']),
  usage: z.object({
    /** Tasks holding a slot: running, or admitted to their lane and about to. */
    running: z.number(),
    /** Starts within the last rate period. */
    startsInPeriod: z.number(),
    /** Tasks waiting for a slot. */
    waiting: z.number(),
  }),
  updatedAt: nullableTime,
  updatedBy: z.nullable(z.string()),
});
export type LimitView = z.infer<typeof LimitViewSchema>;
export const LimitListSchema = z.object({ items: z.array(LimitViewSchema) });

export { LimitUpdateSchema, RunListQuerySchema, ScheduleCreateSchema, ScheduleListQuerySchema, SchedulePatchSchema };

export const CONTROL_ACTIONS = ['pause', 'resume', 'cancel', 'retry'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** API Gateway's syntax: `{name}` is one path segment. */
  readonly path: string;
  readonly summary: string;
  readonly request?: z.ZodMiniType;
  readonly query?: z.ZodMiniType;
  /** Header parameters it reads. */
  readonly headers?: readonly string[];
  /** Success status → the body's schema (undefined: not JSON described here). */
  readonly responses: Readonly<Record<number, { readonly description: string; readonly body?: z.ZodMiniType }>>;
  /** The error statuses it can answer with (bodies: ErrorSchema). */
  readonly errors: readonly number[];
  /**
   * The function that serves it: the intake (tasks, schedules, limits), or the operations
   * function (what the console reads of AWS itself: SQS depths), so the intake's bundle carries no
   * client it does not use. @default 'intake'
   */
  readonly function?: ApiFunction;
}

export const API_FUNCTIONS = ['intake', 'operations'] as const;
export type ApiFunction = (typeof API_FUNCTIONS)[number];

const scheduleAction = (action: 'pause' | 'resume', summary: string): RouteDefinition => ({
  method: 'POST',
  path: `/schedules/{name}/${action}`,
  summary,
  responses: { 200: { description: 'the schedule', body: ScheduleViewSchema } },
  errors: [404],
});

const control = (action: ControlAction, summary: string): RouteDefinition => ({
  method: 'POST',
  path: `/tasks/{id}/${action}`,
  summary,
  responses: { 202: { description: 'the task', body: TaskViewSchema } },
  errors: [404, 409],
});

/** A lane as GET /lanes shows it: its settings and SQS's approximate counts. */
export const LaneViewSchema = z.object({
  name: z.string(),
  consumer: z.enum(['worker', 'launcher']),
  maxConcurrency: z.number(),
  batchSize: z.number(),
  /** Messages ready to be received. */
  visible: z.number(),
  /** Received and not yet deleted: running, or held by a worker. */
  inFlight: z.number(),
  /** Delayed: retries backing off, tasks due within 15 minutes. */
  delayed: z.number(),
  /** In the lane's dead-letter queue. */
  dlq: z.number(),
  /** The oldest message's age, as SQS last published it to CloudWatch (each minute; 0 when empty). */
  oldestQueuedAgeSeconds: z.number(),
  /** Its consumer is switched off (the event source mapping disabled): tasks arrive and wait. */
  paused: z.boolean(),
  /** The event source mapping's own state (Enabled, Disabling, Disabled, Enabling …). */
  mappingState: z.string(),
  /** Who paused or resumed it through Sluice, and when, while that is still its state. */
  changedBy: z.optional(z.string()),
  changedAt: z.optional(time),
});
export type LaneView = z.infer<typeof LaneViewSchema>;
const LaneListSchema = z.object({ items: z.array(LaneViewSchema) });

const nullableNumbers = z.array(z.nullable(z.number()));
/** GET /stats: per lane and per minute, from CloudWatch. */
export const StatsViewSchema = z.object({
  periodSeconds: z.number(),
  /** The start of each minute, oldest first; each series has one value per minute. */
  minutes: z.array(time),
  lanes: z.array(
    z.object({
      name: z.string(),
      submitted: z.array(z.number()),
      started: z.array(z.number()),
      succeeded: z.array(z.number()),
      failed: z.array(z.number()),
      runTimeP50Ms: nullableNumbers,
      runTimeP95Ms: nullableNumbers,
    }),
  ),
});
export type StatsView = z.infer<typeof StatsViewSchema>;

const laneSwitch = (action: 'pause' | 'resume', summary: string) =>
  ({
    method: 'POST',
    path: `/lanes/{lane}/${action}`,
    summary,
    responses: { 200: { description: 'the lane', body: LaneViewSchema } },
    errors: [404, 409],
    function: 'operations',
  }) as const satisfies RouteDefinition;

/** Every route of the API, by operation id. */
export const ROUTES = {
  submitTask: {
    method: 'POST',
    path: '/tasks',
    summary: 'Submit a task (Idempotency-Key replays the first answer with 200)',
    request: TaskSubmissionSchema,
    headers: ['Idempotency-Key'],
    responses: { 201: { description: 'created', body: TaskViewSchema }, 200: { description: 'replayed', body: TaskViewSchema } },
    errors: [400, 409, 413, 415],
  },
  listTasks: {
    method: 'GET',
    path: '/tasks',
    summary: 'List tasks, newest first',
    query: ListQuerySchema,
    responses: { 200: { description: 'a page', body: TaskPageSchema } },
    errors: [400],
  },
  submitTasks: {
    method: 'POST',
    path: '/tasks/batch',
    summary: 'Submit up to 100 tasks at once (all or none)',
    request: BatchSubmissionSchema,
    headers: ['Idempotency-Key'],
    responses: { 201: { description: 'created', body: TaskListSchema }, 200: { description: 'replayed', body: TaskListSchema } },
    errors: [400, 409, 413, 415],
  },
  bulkTasks: {
    method: 'POST',
    path: '/tasks/bulk',
    summary:
      'Apply cancel, retry, pause, resume or a priority to every task a filter matches: dryRun answers the count; otherwise a `bulk` task does it, with progress',
    request: BulkRequestSchema,
    responses: {
      200: { description: 'the dry run: how many tasks match now', body: z.object({ matching: z.number() }) },
      202: { description: 'the bulk task doing it', body: TaskViewSchema },
    },
    errors: [400, 413, 415],
  },
  getTask: {
    method: 'GET',
    path: '/tasks/{id}',
    summary: 'A task',
    responses: { 200: { description: 'the task', body: TaskViewSchema } },
    errors: [404],
  },
  changePriority: {
    method: 'PATCH',
    path: '/tasks/{id}',
    summary: 'Change the priority',
    request: PriorityChangeSchema,
    responses: { 200: { description: 'the task', body: TaskViewSchema } },
    errors: [400, 404, 409, 415],
  },
  taskEvents: {
    method: 'GET',
    path: '/tasks/{id}/events',
    summary: 'The history, oldest first',
    responses: { 200: { description: 'events', body: TaskEventsSchema } },
    errors: [404],
  },
  pauseTask: control('pause', 'Pause (a running task yields at its next checkpoint)'),
  resumeTask: control('resume', 'Resume a paused task'),
  cancelTask: control('cancel', 'Cancel'),
  retryTask: control('retry', 'Run a finished task again (a new attempt series)'),
  createSchedule: {
    method: 'POST',
    path: '/schedules',
    summary: 'Create a recurring schedule (cron or every; its task is validated as POST /tasks validates one)',
    request: ScheduleCreateSchema,
    responses: { 201: { description: 'created', body: ScheduleViewSchema } },
    errors: [400, 409, 413, 415],
  },
  listSchedules: {
    method: 'GET',
    path: '/schedules',
    summary: 'List schedules by name',
    query: ScheduleListQuerySchema,
    responses: { 200: { description: 'a page', body: SchedulePageSchema } },
    errors: [400],
  },
  getSchedule: {
    method: 'GET',
    path: '/schedules/{name}',
    summary: 'A schedule, with its next runs and its last one',
    responses: { 200: { description: 'the schedule', body: ScheduleViewSchema } },
    errors: [404],
  },
  changeSchedule: {
    method: 'PATCH',
    path: '/schedules/{name}',
    summary: 'Change any field but the name (null clears startAt/endAt)',
    request: SchedulePatchSchema,
    responses: { 200: { description: 'the schedule', body: ScheduleViewSchema } },
    errors: [400, 404, 413, 415],
  },
  deleteSchedule: {
    method: 'DELETE',
    path: '/schedules/{name}',
    summary: 'Delete a schedule (the tasks it created are kept)',
    responses: { 204: { description: 'deleted' } },
    errors: [404],
  },
  pauseSchedule: scheduleAction('pause', 'Pause: no new tasks until resumed (tasks already created are untouched)'),
  resumeSchedule: scheduleAction('resume', 'Resume a paused schedule'),
  triggerSchedule: {
    method: 'POST',
    path: '/schedules/{name}/trigger',
    summary: 'One run now, outside the recurrence, under the same overlap rule',
    responses: { 202: { description: 'what the run did', body: TriggerResultSchema } },
    errors: [404],
  },
  scheduleRuns: {
    method: 'GET',
    path: '/schedules/{name}/runs',
    summary: 'The tasks a schedule created and the ticks it skipped (with why), newest first',
    query: RunListQuerySchema,
    responses: { 200: { description: 'a page', body: ScheduleRunPageSchema } },
    errors: [400, 404],
  },
  putLimit: {
    method: 'PUT',
    path: '/limits/{scope}/{key}',
    summary: 'Set a concurrency and/or rate limit for a tenant, a concurrency key or a task type (null removes one part)',
    request: LimitUpdateSchema,
    responses: { 200: { description: 'the limit', body: LimitViewSchema } },
    errors: [400, 404, 415],
  },
  listLimits: {
    method: 'GET',
    path: '/limits',
    summary: 'Every limit set through the API, with its usage',
    responses: { 200: { description: 'limits', body: LimitListSchema } },
    errors: [],
  },
  getLimit: {
    method: 'GET',
    path: '/limits/{scope}/{key}',
    summary: 'A limit with its usage (a tenant without one shows the deployment default)',
    responses: { 200: { description: 'the limit', body: LimitViewSchema } },
    errors: [404],
  },
  deleteLimit: {
    method: 'DELETE',
    path: '/limits/{scope}/{key}',
    summary: 'Remove a limit (its waiting tasks are woken)',
    responses: { 204: { description: 'deleted' } },
    errors: [404],
  },
  listLanes: {
    method: 'GET',
    path: '/lanes',
    summary: "Each lane's settings and what it holds now (SQS's approximate counts, its dead-letter queue's too)",
    responses: { 200: { description: 'lanes', body: LaneListSchema } },
    errors: [],
    function: 'operations',
  },
  pauseLane: laneSwitch(
    'pause',
    'Stop consuming a lane (its event source mapping disabled): tasks keep arriving and wait, running ones finish',
  ),
  resumeLane: laneSwitch('resume', 'Consume a paused lane again'),
  getStats: {
    method: 'GET',
    path: '/stats',
    summary: 'Per lane and per minute: submitted, started, succeeded, failed, run-time p50/p95 (from CloudWatch)',
    query: StatsQuerySchema,
    responses: { 200: { description: 'the series', body: StatsViewSchema } },
    errors: [400],
    function: 'operations',
  },
  openApi: {
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1' } },
    errors: [],
  },
} as const satisfies Record<string, RouteDefinition>;

export type OperationId = keyof typeof ROUTES;

/** The operations one function serves. */
export type OperationsOf<F extends ApiFunction> = {
  [K in OperationId]: ((typeof ROUTES)[K] extends { function: ApiFunction } ? (typeof ROUTES)[K]['function'] : 'intake') extends F
    ? K
    : never;
}[OperationId];

/** The routes as [operation id, definition] pairs, in table order. */
export const routeEntries = (): [OperationId, RouteDefinition][] => Object.entries(ROUTES) as [OperationId, RouteDefinition][];

export const functionOf = (route: RouteDefinition): ApiFunction => route.function ?? 'intake';

/** The contract's routes as matchers: a literal segment beats a parameter (`/tasks/batch` before `/tasks/{id}`). */
const MATCHERS = routeEntries()
  .map(([operation, route]) => {
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const pattern = new RegExp(`^${route.path.replace(/\./g, '\\.').replace(/\{\w+\}/g, '([^/]+)')}/?$`);
    return { operation, method: route.method, pattern, names, literal: names.length === 0 };
  })
  .sort((a, b) => Number(b.literal) - Number(a.literal));

export type RouteMatch =
  | { kind: 'found'; operation: OperationId; params: Record<string, string> }
  | { kind: 'no-route' }
  | { kind: 'wrong-method'; allowed: HttpMethod[] };

/** Which operation a request is (API Gateway's matching: the most specific path decides which methods exist). */
export function matchRoute(method: string, path: string): RouteMatch {
  const matching = MATCHERS.map((m) => ({ m, match: m.pattern.exec(path) })).filter((x) => x.match);
  if (matching.length === 0) return { kind: 'no-route' };
  const specific = ROUTES[matching[0].m.operation].path;
  const samePath = matching.filter(({ m }) => ROUTES[m.operation].path === specific);
  const found = samePath.find(({ m }) => m.method === method);
  if (!found?.match) return { kind: 'wrong-method', allowed: samePath.map(({ m }) => m.method) };
  const values = found.match.slice(1);
  return { kind: 'found', operation: found.m.operation, params: Object.fromEntries(found.m.names.map((name, i) => [name, values[i]])) };
}
