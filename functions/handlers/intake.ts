/**
 * Intake: the HTTP API's only function. Parses the request, calls the core, shapes the response.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import * as z from 'zod/mini';
import { dynamo } from '#core/clients.ts';
import { tableName } from '#core/config.ts';
import { type ControlRequest, TaskControl } from '#core/control.ts';
import { MethodNotAllowed, RouteNotFound, TaskNotFound } from '#core/errors.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { isTaskId } from '#core/ids.ts';
import { MAX_BODY_BYTES } from '#core/limits.ts';
import { PRIORITIES, STATUSES, toEventView, toView } from '#core/model.ts';
import { isValidCursor } from '#core/store.ts';
import { parseOrThrow, TaskSubmitter } from '#core/submission.ts';
import { taskRegistry } from '#tasks/index.ts';
import { errorResponse, fromEvent, type HttpRequest, type HttpResponse, json, readJsonBody } from './http.ts';
import { openApiDocument, PriorityChangeSchema } from './openapi.ts';
import { getStore, perEnvironment } from './services.ts';
import { type Dimensions, emit, taskDimensions } from './telemetry.ts';

const getServices = perEnvironment(() => {
  const store = getStore();
  return {
    store,
    submitter: new TaskSubmitter(
      store,
      new IdempotencyStore(dynamo(), tableName()),
      taskRegistry,
      process.env.SLUICE_CONTAINERS === 'enabled',
    ),
    control: new TaskControl(store),
  };
});

const logger = new Logger({ serviceName: 'sluice-intake' });

const ListQuery = z.strictObject({
  status: z.optional(z.enum(STATUSES)),
  priority: z.optional(z.enum(PRIORITIES)),
  type: z.optional(z.string().check(z.maxLength(100))),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20),
  cursor: z.optional(z.string().check(z.refine(isValidCursor, 'not a cursor this API returned'))),
});

type RouteHandler = (request: HttpRequest, params: string[]) => Promise<HttpResponse>;
interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, RouteHandler>>;
}

const taskId = (raw: string): string => {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new TaskNotFound(raw); // a malformed escape cannot name a task
  }
  if (!isTaskId(id)) throw new TaskNotFound(id);
  return id;
};

let openApi: string | undefined;

const routes: Route[] = [
  {
    pattern: /^\/openapi\.json$/,
    methods: {
      GET: async () => {
        openApi ??= JSON.stringify(openApiDocument(taskRegistry));
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: openApi };
      },
    },
  },
  {
    pattern: /^\/tasks\/?$/,
    methods: {
      POST: async (request) => {
        const body = readJsonBody(request, MAX_BODY_BYTES);
        const { created, value } = await getServices().submitter.submit(body, {
          actor: request.actor,
          idempotencyKey: request.headers['idempotency-key'],
        });
        if (created) emit('Submitted', taskDimensions(value));
        return json(created ? 201 : 200, toView(value));
      },
      GET: async (request) => {
        const query = parseOrThrow(ListQuery, request.query);
        const page = await getServices().store.list(query);
        return json(200, { items: page.items.map(toView), cursor: page.cursor });
      },
    },
  },
  {
    pattern: /^\/tasks\/batch\/?$/,
    methods: {
      POST: async (request) => {
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
    },
  },
  {
    pattern: /^\/tasks\/([^/]+)\/?$/,
    methods: {
      GET: async (_request, [id]) => {
        const { store } = getServices();
        return json(200, toView(await store.resolve(await store.get(taskId(id)))));
      },
      PATCH: async (request, [id]) => {
        const { priority } = parseOrThrow(PriorityChangeSchema, readJsonBody(request, MAX_BODY_BYTES));
        const { store, control } = getServices();
        return json(200, toView(await store.resolve(await control.apply(taskId(id), { action: 'priority', priority }, request.actor))));
      },
    },
  },
  {
    pattern: /^\/tasks\/([^/]+)\/(pause|resume|cancel|retry)\/?$/,
    methods: {
      POST: async (request, [id, action]) => {
        const task = await getServices().control.apply(taskId(id), { action } as ControlRequest, request.actor);
        return json(202, toView(await getServices().store.resolve(task)));
      },
    },
  },
  {
    pattern: /^\/tasks\/([^/]+)\/events\/?$/,
    methods: {
      GET: async (_request, [id]) => json(200, { items: (await getServices().store.events(taskId(id))).map(toEventView) }),
    },
  },
];

export async function route(request: HttpRequest): Promise<HttpResponse> {
  for (const { pattern, methods } of routes) {
    const match = pattern.exec(request.path);
    if (!match) continue;
    const handle = methods[request.method];
    if (!handle) throw new MethodNotAllowed(`${request.method} is not allowed on ${request.path}; use ${Object.keys(methods).join(', ')}`);
    return handle(request, match.slice(1));
  }
  throw new RouteNotFound(`no route for ${request.method} ${request.path}`);
}

export const handler = async (event: APIGatewayProxyEventV2): Promise<HttpResponse> => {
  const request = fromEvent(event);
  try {
    return await route(request);
  } catch (error) {
    const response = errorResponse(error);
    if (response.statusCode >= 500) logger.error('request failed', { method: request.method, path: request.path, error: error as Error });
    return response;
  }
};
