/**
 * Intake: the HTTP API's only function. Parses the request, calls the core, shapes the response.
 * Routes come from the contract (functions/api/contract.ts); this file binds one handler to each
 * operation, and the type checker refuses a route without one.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  type ControlAction,
  ListQuerySchema,
  type OperationsOf,
  PriorityChangeSchema,
  RunListQuerySchema,
  ScheduleListQuerySchema,
} from '#api/contract.ts';
import { toEventView, toLimitView, toRunView, toScheduleView, toTriggerResult, toView } from '#api/views.ts';
import { Admission } from '#core/admission.ts';
import { BULK_TASK_TYPE, BulkRequestSchema, countMatching } from '#core/bulk.ts';
import { ScheduleNotFound, TaskNotFound } from '#core/errors.ts';
import { isTaskId } from '#core/ids.ts';
import { LimitControl } from '#core/limit-control.ts';
import { MAX_BODY_BYTES } from '#core/limits.ts';
import { ScheduleControl } from '#core/schedule-control.ts';
import { SCHEDULE_NAME_PATTERN } from '#core/schedules.ts';
import { readSettings } from '#core/settings.ts';
import { parseOrThrow } from '#core/submission.ts';
import { taskRegistry } from '#tasks/index.ts';
import { json, readJsonBody } from './http.ts';
import { openApiDocument } from './openapi.ts';
import { httpHandler, type RouteHandler, router } from './router.ts';
import { perEnvironment } from './services.ts';
import { getSubmitting } from './submitting.ts';
import { type Dimensions, emit, emitTick, taskDimensions } from './telemetry.ts';

const getServices = perEnvironment(() => {
  const submitting = getSubmitting();
  const settings = readSettings(['minEverySeconds', 'tenantConcurrency', 'tenantLaneSharePercent']);
  const admission = new Admission(submitting.limits, submitting.store, submitting.catalog, settings);
  return {
    ...submitting,
    scheduleControl: new ScheduleControl(
      submitting.schedules,
      submitting.store,
      submitting.submitter,
      submitting.firing,
      settings.minEverySeconds,
    ),
    limitControl: new LimitControl(submitting.limits, admission, submitting.catalog, settings.tenantConcurrency),
  };
});

const logger = new Logger({ serviceName: 'sluice-intake' });

/** A path parameter, decoded; a malformed escape or a value that cannot name the resource is its 404. */
function pathParam(raw: string | undefined, valid: (value: string) => boolean, notFound: (value: string) => Error): string {
  let value: string;
  try {
    value = decodeURIComponent(raw ?? '');
  } catch {
    throw notFound(String(raw));
  }
  if (!valid(value)) throw notFound(value);
  return value;
}

const taskId = (raw: string | undefined) => pathParam(raw, isTaskId, (id) => new TaskNotFound(id));
const scheduleName = (raw: string | undefined) =>
  pathParam(
    raw,
    (name) => SCHEDULE_NAME_PATTERN.test(name),
    (name) => new ScheduleNotFound(name),
  );
const limitTarget = (scope: string | undefined, key: string | undefined) =>
  LimitControl.target(
    scope ?? '',
    pathParam(
      key,
      () => true,
      () => LimitControl.notFound(scope ?? '', String(key)),
    ),
  );

const controlHandler =
  (action: ControlAction): RouteHandler =>
  async (request, { id }) => {
    const task = await getServices().control.apply(taskId(id), { action }, request.actor);
    return json(202, toView(await getServices().store.resolve(task)));
  };

let openApi: string | undefined;

const HANDLERS: Record<OperationsOf<'intake'>, RouteHandler> = {
  openApi: async () => {
    openApi ??= JSON.stringify(openApiDocument(taskRegistry));
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: openApi };
  },
  submitTask: async (request) => {
    const body = readJsonBody(request, MAX_BODY_BYTES);
    const { created, value } = await getServices().submitter.submit(body, {
      actor: request.actor,
      idempotencyKey: request.headers['idempotency-key'],
    });
    if (created) emit('Submitted', taskDimensions(value));
    return json(created ? 201 : 200, toView(value));
  },
  listTasks: async (request) => {
    const query = parseOrThrow(ListQuerySchema, request.query);
    const page = await getServices().store.list(query);
    return json(200, { items: page.items.map(toView), cursor: page.cursor });
  },
  submitTasks: async (request) => {
    const body = readJsonBody(request, MAX_BODY_BYTES);
    const { created, value } = await getServices().submitter.submitBatch(body, {
      actor: request.actor,
      idempotencyKey: request.headers['idempotency-key'],
    });
    if (created) {
      const groups = new Map<string, { dimensions: Dimensions; n: number }>();
      for (const task of value) {
        const dimensions = taskDimensions(task);
        const key = `${dimensions.lane}|${dimensions.type}`;
        groups.set(key, { dimensions, n: (groups.get(key)?.n ?? 0) + 1 });
      }
      for (const { dimensions, n } of groups.values()) emit('Submitted', dimensions, n);
    }
    return json(created ? 201 : 200, { items: value.map(toView) });
  },
  bulkTasks: async (request) => {
    const { dryRun, ...bulk } = parseOrThrow(BulkRequestSchema, readJsonBody(request, MAX_BODY_BYTES));
    const { store, submitter } = getServices();
    if (dryRun) return json(200, { matching: await countMatching(store, bulk.filter) });
    const { value } = await submitter.submit({ type: BULK_TASK_TYPE, payload: bulk, priority: 'high' }, { actor: request.actor });
    emit('Submitted', taskDimensions(value));
    return json(202, toView(value));
  },
  getTask: async (_request, { id }) => {
    const { store } = getServices();
    return json(200, toView(await store.resolve(await store.get(taskId(id)))));
  },
  changePriority: async (request, { id }) => {
    const { priority } = parseOrThrow(PriorityChangeSchema, readJsonBody(request, MAX_BODY_BYTES));
    const { store, control } = getServices();
    return json(200, toView(await store.resolve(await control.apply(taskId(id), { action: 'priority', priority }, request.actor))));
  },
  taskEvents: async (_request, { id }) => json(200, { items: (await getServices().store.events(taskId(id))).map(toEventView) }),
  createSchedule: async (request) => {
    const detail = await getServices().scheduleControl.create(readJsonBody(request, MAX_BODY_BYTES), request.actor);
    return json(201, toScheduleView(detail));
  },
  listSchedules: async (request) => {
    const { limit, cursor } = parseOrThrow(ScheduleListQuerySchema, request.query);
    const page = await getServices().scheduleControl.list(limit, cursor);
    return json(200, { items: page.items.map((d) => toScheduleView(d)), cursor: page.cursor });
  },
  getSchedule: async (_request, { name }) => json(200, toScheduleView(await getServices().scheduleControl.get(scheduleName(name)))),
  changeSchedule: async (request, { name }) => {
    const body = readJsonBody(request, MAX_BODY_BYTES);
    return json(200, toScheduleView(await getServices().scheduleControl.patch(scheduleName(name), body, request.actor)));
  },
  deleteSchedule: async (_request, { name }) => {
    await getServices().scheduleControl.delete(scheduleName(name));
    return { statusCode: 204, headers: {}, body: '' };
  },
  pauseSchedule: async (request, { name }) =>
    json(200, toScheduleView(await getServices().scheduleControl.pause(scheduleName(name), request.actor))),
  resumeSchedule: async (request, { name }) =>
    json(200, toScheduleView(await getServices().scheduleControl.resume(scheduleName(name), request.actor))),
  triggerSchedule: async (_request, { name }) => {
    const { scheduleControl, store } = getServices();
    const outcome = await scheduleControl.trigger(scheduleName(name));
    emitTick(outcome);
    const task = outcome.kind === 'created' ? await store.resolve(outcome.task) : undefined;
    return json(202, toTriggerResult(task && outcome.kind === 'created' ? { ...outcome, task } : outcome, toView));
  },
  scheduleRuns: async (request, { name }) => {
    const { limit, cursor } = parseOrThrow(RunListQuerySchema, request.query);
    const page = await getServices().scheduleControl.runs(scheduleName(name), limit, cursor);
    return json(200, { items: page.items.map(toRunView), cursor: page.cursor });
  },
  putLimit: async (request, { scope, key }) => {
    const target = limitTarget(scope, key);
    const body = readJsonBody(request, MAX_BODY_BYTES);
    return json(200, toLimitView(await getServices().limitControl.put(target.scope, target.key, body, request.actor)));
  },
  listLimits: async () => json(200, { items: (await getServices().limitControl.list()).map(toLimitView) }),
  getLimit: async (_request, { scope, key }) => {
    const target = limitTarget(scope, key);
    return json(200, toLimitView(await getServices().limitControl.get(target.scope, target.key)));
  },
  deleteLimit: async (_request, { scope, key }) => {
    const target = limitTarget(scope, key);
    await getServices().limitControl.delete(target.scope, target.key);
    return { statusCode: 204, headers: {}, body: '' };
  },
  pauseTask: controlHandler('pause'),
  resumeTask: controlHandler('resume'),
  cancelTask: controlHandler('cancel'),
  retryTask: controlHandler('retry'),
};

export const route = router(HANDLERS);
export const handler = httpHandler(route, logger);
