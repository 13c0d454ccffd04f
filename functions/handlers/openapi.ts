/**
 * The OpenAPI 3.1 document, generated from the contract (functions/api/contract.ts): its routes,
 * the zod schemas the intake validates requests with and the schemas of its answers (JSON Schema
 * 2020-12, which OpenAPI 3.1 uses as is), so the document and the API cannot drift.
 */
import * as z from 'zod/mini';
import { ErrorSchema, routeEntries, TaskViewSchema } from '#api/contract.ts';
import type { TaskRegistry } from '#core/task-types.ts';

const schema = (s: z.ZodMiniType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' });
const json = (s: unknown) => ({ content: { 'application/json': { schema: s } } });

export function openApiDocument(registry: TaskRegistry): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, route] of routeEntries()) {
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const query = route.query ? ((schema(route.query) as { properties?: Record<string, unknown> }).properties ?? {}) : {};
    const parameters = [
      ...names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(query).map(([name, s]) => ({ name, in: 'query', schema: s })),
      ...(route.headers ?? []).map((name) => ({ name, in: 'header', schema: { type: 'string', maxLength: 255 } })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(route.responses)) {
      responses[status] = { description: answer.description, ...(answer.body ? json(schema(answer.body, 'output')) : {}) };
    }
    for (const status of route.errors)
      responses[String(status)] = { description: 'error', ...json({ $ref: '#/components/schemas/Error' }) };
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = {
      operationId,
      summary: route.summary,
      ...(parameters.length ? { parameters } : {}),
      ...(route.request ? { requestBody: { required: true, ...json(schema(route.request)) } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Sluice', version: '1', description: 'Serverless task scheduler: submit, watch and control background tasks.' },
    paths,
    components: { schemas: { Task: schema(TaskViewSchema, 'output'), Error: schema(ErrorSchema, 'output') } },
    // The payload schema of each task type, as intake validates it.
    'x-task-types': Object.fromEntries(registry.names().map((name) => [name, { payload: schema(registry.get(name).payload) }])),
  };
}
