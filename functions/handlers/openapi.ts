/**
 * The OpenAPI 3.1 document of the HTTP contract, generated from the zod schemas the intake
 * validates with (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so the two cannot drift.
 */
import * as z from 'zod/mini';
import { PRIORITIES, RUNTIMES, STATUSES } from '#core/model.ts';
import { BatchSubmissionSchema, TaskSubmissionSchema } from '#core/submission.ts';
import type { TaskRegistry } from '#core/task-types.ts';

export const PriorityChangeSchema = z.strictObject({ priority: z.enum(PRIORITIES) });

const schema = (s: z.ZodMiniType) => z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });

const ErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
};

const TaskSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string' },
    status: { enum: [...STATUSES] },
    priority: { enum: [...PRIORITIES] },
    runtime: { enum: [...RUNTIMES] },
    payload: {},
    progress: {
      type: ['object', 'null'],
      properties: { percent: { type: 'number' }, message: { type: ['string', 'null'] }, updatedAt: { type: 'string' } },
    },
    attempt: { type: 'integer' },
    maxAttempts: { type: 'integer' },
    timeoutSeconds: { type: 'integer' },
    result: {},
    error: { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
    control: { enum: ['pause', 'cancel', null] },
    createdAt: { type: 'string', format: 'date-time' },
    queuedAt: { type: ['string', 'null'], format: 'date-time' },
    startedAt: { type: ['string', 'null'], format: 'date-time' },
    finishedAt: { type: ['string', 'null'], format: 'date-time' },
    runAt: { type: ['string', 'null'], format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    version: { type: 'integer' },
  },
};

const json = (s: unknown) => ({ content: { 'application/json': { schema: s } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: 'error', ...json(ref('Error')) }]));
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export function openApiDocument(registry: TaskRegistry): Record<string, unknown> {
  const control = (action: string, what: string) => ({
    post: {
      operationId: `${action}Task`,
      summary: what,
      parameters: [idParam],
      responses: { '202': { description: 'the task', ...json(ref('Task')) }, ...errors(404, 409) },
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'Sluice', version: '1', description: 'Serverless task scheduler: submit, watch and control background tasks.' },
    paths: {
      '/tasks': {
        post: {
          operationId: 'submitTask',
          summary: 'Submit a task (Idempotency-Key replays the first answer with 200)',
          parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 255 } }],
          requestBody: { required: true, ...json(ref('TaskSubmission')) },
          responses: {
            '201': { description: 'created', ...json(ref('Task')) },
            '200': { description: 'replayed', ...json(ref('Task')) },
            ...errors(400, 409, 413, 415),
          },
        },
        get: {
          operationId: 'listTasks',
          summary: 'List tasks, newest first',
          parameters: [
            { name: 'status', in: 'query', schema: { enum: [...STATUSES] } },
            { name: 'priority', in: 'query', schema: { enum: [...PRIORITIES] } },
            { name: 'type', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
            { name: 'cursor', in: 'query', schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description: 'a page',
              ...json({
                type: 'object',
                properties: { items: { type: 'array', items: ref('Task') }, cursor: { type: ['string', 'null'] } },
              }),
            },
            ...errors(400),
          },
        },
      },
      '/tasks/batch': {
        post: {
          operationId: 'submitTasks',
          summary: 'Submit up to 100 tasks at once (all or none)',
          requestBody: { required: true, ...json(ref('BatchSubmission')) },
          responses: {
            '201': { description: 'created', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('Task') } } }) },
            ...errors(400, 409, 413, 415),
          },
        },
      },
      '/tasks/{id}': {
        get: {
          operationId: 'getTask',
          summary: 'A task',
          parameters: [idParam],
          responses: { '200': { description: 'the task', ...json(ref('Task')) }, ...errors(404) },
        },
        patch: {
          operationId: 'changePriority',
          summary: 'Change the priority',
          parameters: [idParam],
          requestBody: { required: true, ...json(ref('PriorityChange')) },
          responses: { '200': { description: 'the task', ...json(ref('Task')) }, ...errors(400, 404, 409, 415) },
        },
      },
      '/tasks/{id}/events': {
        get: {
          operationId: 'taskEvents',
          summary: 'The history, oldest first',
          parameters: [idParam],
          responses: {
            '200': {
              description: 'events',
              ...json({
                type: 'object',
                properties: {
                  items: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        at: { type: 'string' },
                        from: { type: ['string', 'null'] },
                        to: { type: 'string' },
                        reason: { type: 'string' },
                        attempt: { type: 'integer' },
                        actor: { type: 'string' },
                      },
                    },
                  },
                },
              }),
            },
            ...errors(404),
          },
        },
      },
      '/tasks/{id}/pause': control('pause', 'Pause (a running task yields at its next checkpoint)'),
      '/tasks/{id}/resume': control('resume', 'Resume a paused task'),
      '/tasks/{id}/cancel': control('cancel', 'Cancel'),
      '/tasks/{id}/retry': control('retry', 'Run a finished task again (a new attempt series)'),
      '/openapi.json': { get: { operationId: 'openApi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
    components: {
      schemas: {
        TaskSubmission: schema(TaskSubmissionSchema),
        BatchSubmission: schema(BatchSubmissionSchema),
        PriorityChange: schema(PriorityChangeSchema),
        Task: TaskSchema,
        Error: ErrorSchema,
      },
    },
    // The payload schema of each task type, as intake validates it.
    'x-task-types': Object.fromEntries(registry.names().map((name) => [name, { payload: schema(registry.get(name).payload) }])),
  };
}
