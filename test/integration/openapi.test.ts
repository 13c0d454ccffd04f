import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITIES } from '#core/model.ts';
import { handler } from '#handlers/intake.ts';
import { handler as operationsHandler } from '#handlers/operations.ts';
import { API_ROUTES } from '../../lib/intake-api.ts';
import { provisionForTest, type TestResources } from '../support/aws.ts';
import { httpEvent } from '../support/factories.ts';

let resources: TestResources;
let doc: {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};
beforeAll(async () => {
  resources = await provisionForTest('openapi');
  const res = await handler(httpEvent('GET', '/openapi.json'));
  expect(res.statusCode).toBe(200);
  doc = JSON.parse(res.body);
});
afterAll(() => resources.cleanup());

const UNKNOWN_ID = '01m86ghs3b2k721tmtwhexw';
const concrete = (path: string) => path.replace('{id}', UNKNOWN_ID);

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents only routes that exist: each one answers something other than route-not-found', async () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        // The function API Gateway sends this route to, as the contract names it.
        const route = API_ROUTES.find((r) => r.path === path && (r.methods as string[]).includes(method.toUpperCase()));
        const serving = route?.function === 'operations' ? operationsHandler : handler;
        const res = await serving(httpEvent(method.toUpperCase(), concrete(path), method === 'get' ? {} : { body: {} }));
        expect([404, 405].includes(res.statusCode) && /route-not-found|method-not-allowed/.test(res.body), `${method} ${path}`).toBe(false);
      }
    }
  });

  it('documents every route the API exposes', () => {
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
    for (const route of API_ROUTES) {
      for (const method of route.methods) {
        expect(documented.has(`${method} ${route.path}`), `${method} ${route.path}`).toBe(true);
      }
    }
  });

  it('describes submissions with the schema intake validates with', () => {
    const post = doc.paths['/tasks'].post as { requestBody: { content: { 'application/json': { schema: unknown } } } };
    const submission = post.requestBody.content['application/json'].schema as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { enum?: string[] }>;
    };
    expect(submission.required).toEqual(['type']);
    expect(submission.additionalProperties).toBe(false);
    expect(submission.properties.priority.enum).toEqual([...PRIORITIES]);
    expect(Object.keys((doc as unknown as { 'x-task-types': object })['x-task-types'])).toEqual(
      expect.arrayContaining(['echo', 'sleep', 'fail']),
    );
  });
});

describe('the contract', () => {
  it('describes every answer with the schema its body has: a real task validates against the Task schema', async () => {
    const { TaskViewSchema } = await import('#api/contract.ts');
    const submitted = await handler(httpEvent('POST', '/tasks', { body: { type: 'echo', payload: { a: 1 } } }));
    expect(submitted.statusCode).toBe(201);
    expect(TaskViewSchema.safeParse(JSON.parse(submitted.body)).success).toBe(true);
    const task = doc.components.schemas.Task as { properties: Record<string, unknown> };
    expect(Object.keys(task.properties).sort()).toEqual(Object.keys(JSON.parse(submitted.body)).sort());
  });
});
