import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '#handlers/intake.ts';
import { provisionForTest, type TestResources, tableItems } from '../support/aws.ts';
import { httpEvent } from '../support/factories.ts';

let resources: TestResources;
beforeAll(async () => {
  resources = await provisionForTest('intake');
});
afterAll(() => resources.cleanup());

const call = async (...args: Parameters<typeof httpEvent>) => {
  const res = await handler(httpEvent(...args));
  return { status: res.statusCode, body: JSON.parse(res.body) };
};

describe('intake', () => {
  it('answers 201 with the queued task', async () => {
    const { status, body } = await call('POST', '/tasks', { body: { type: 'echo', payload: { hi: 1 }, priority: 'high' } });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      type: 'echo',
      status: 'QUEUED',
      priority: 'high',
      runtime: 'lambda',
      payload: { hi: 1 },
      attempt: 0,
      version: 1,
    });
    expect(body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('replays the first answer for a repeated Idempotency-Key, with 200', async () => {
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await call('POST', '/tasks', { body: { type: 'echo', payload: { n: 1 } }, headers });
    const again = await call('POST', '/tasks', { body: { type: 'echo', payload: { n: 1 } }, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const reused = await call('POST', '/tasks', { body: { type: 'echo', payload: { n: 2 } }, headers });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency-key-reused');
  });

  it('submits a batch in one call and replays it by key', async () => {
    const tasks = Array.from({ length: 30 }, (_, i) => ({ type: 'echo', payload: { i } }));
    const headers = { 'idempotency-key': `b-${Date.now()}` };
    const { status, body } = await call('POST', '/tasks/batch', { body: { tasks }, headers });
    expect(status).toBe(201);
    expect(body.items).toHaveLength(30);
    expect(body.items.map((t: { payload: { i: number } }) => t.payload.i)).toEqual(tasks.map((t) => t.payload.i));
    const again = await call('POST', '/tasks/batch', { body: { tasks }, headers });
    expect(again.status).toBe(200);
    expect(again.body.items.map((t: { id: string }) => t.id)).toEqual(body.items.map((t: { id: string }) => t.id));
  });

  it('shows a task, its events, and lists tasks', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { type: 'sleep', payload: { ms: 10 } } });
    const got = await call('GET', `/tasks/${task.id}`);
    expect(got.body).toMatchObject({ id: task.id, type: 'sleep' });
    expect(got.body.payload).toEqual({ ms: 10 });
    const events = await call('GET', `/tasks/${task.id}/events`);
    expect(events.body.items).toEqual([expect.objectContaining({ from: null, to: 'QUEUED', reason: 'submit', attempt: 0 })]);
    const listed = await call('GET', '/tasks', { query: { type: 'sleep', limit: '5' } });
    expect(listed.status).toBe(200);
    expect(listed.body.items[0].id).toBe(task.id);
  });

  describe('rejects bad input with a clear error and writes nothing', () => {
    const cases: [string, Parameters<typeof httpEvent>, number, string][] = [
      ['malformed JSON', ['POST', '/tasks', { body: '{"type":', headers: { 'content-type': 'application/json' } }], 400, 'malformed-json'],
      [
        'a body not declared as JSON',
        ['POST', '/tasks', { body: '{"type":"echo"}', headers: { 'content-type': 'text/plain' } }],
        415,
        'unsupported-media-type',
      ],
      ['a missing type', ['POST', '/tasks', { body: { payload: {} } }], 400, 'invalid-request'],
      ['an unknown type', ['POST', '/tasks', { body: { type: 'nope' } }], 400, 'unknown-type'],
      [
        'a payload that does not match its type',
        ['POST', '/tasks', { body: { type: 'sleep', payload: { ms: -1 } } }],
        400,
        'invalid-request',
      ],
      ['an invalid priority', ['POST', '/tasks', { body: { type: 'echo', priority: 'urgent' } }], 400, 'invalid-request'],
      ['an invalid runtime', ['POST', '/tasks', { body: { type: 'echo', runtime: 'gpu' } }], 400, 'invalid-request'],
      ['invalid limits', ['POST', '/tasks', { body: { type: 'echo', maxAttempts: 0, timeoutSeconds: -5 } }], 400, 'invalid-request'],
      ['a Lambda timeout beyond Lambda', ['POST', '/tasks', { body: { type: 'echo', timeoutSeconds: 3600 } }], 400, 'invalid-request'],
      [
        'a container task where no container image is configured',
        ['POST', '/tasks', { body: { type: 'sleep', payload: { ms: 1 }, runtime: 'container' } }],
        400,
        'container-runtime-unavailable',
      ],
      ['an unknown field', ['POST', '/tasks', { body: { type: 'echo', colour: 'red' } }], 400, 'invalid-request'],
      ['a body too large', ['POST', '/tasks', { body: { type: 'echo', payload: 'x'.repeat(1_100_000) } }], 413, 'payload-too-large'],
      ['a payload too large', ['POST', '/tasks', { body: { type: 'echo', payload: 'x'.repeat(300_000) } }], 413, 'payload-too-large'],
      [
        'a batch with one bad task',
        ['POST', '/tasks/batch', { body: { tasks: [{ type: 'echo' }, { type: 'nope' }] } }],
        400,
        'unknown-type',
      ],
      ['an empty batch', ['POST', '/tasks/batch', { body: { tasks: [] } }], 400, 'invalid-request'],
      ['a batch over 100', ['POST', '/tasks/batch', { body: { tasks: Array(101).fill({ type: 'echo' }) } }], 400, 'invalid-request'],
      ['an unknown id', ['GET', '/tasks/01m86ghs3b2k721tmtwhexw'], 404, 'task-not-found'],
      ['a malformed id', ['GET', '/tasks/..%2f..'], 404, 'task-not-found'],
      ['an id with a malformed escape', ['GET', '/tasks/%zz/events'], 404, 'task-not-found'],
      ['an unknown route', ['GET', '/nope'], 404, 'route-not-found'],
      ['a wrong method', ['DELETE', '/tasks'], 405, 'method-not-allowed'],
      ['a bad list filter', ['GET', '/tasks', { query: { status: 'DONE' } }], 400, 'invalid-request'],
      ['a bad cursor', ['GET', '/tasks', { query: { cursor: 'xyz' } }], 400, 'invalid-request'],
    ];
    it.each(cases)('%s', async (_name, args, status, code) => {
      const before = await tableItems(resources.tableName);
      const res = await call(...args);
      expect(res.status).toBe(status);
      expect(res.body.error).toEqual({ code, message: expect.any(String) });
      expect(res.body.error.message.length).toBeGreaterThan(5);
      expect(await tableItems(resources.tableName)).toEqual(before);
    });
  });
});

describe('GET /lanes', () => {
  it('shows each lane with its settings and what SQS holds: ready, delayed, and dead letters', async () => {
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const { sqsClient } = await import('#core/clients.ts');
    await sqsClient().send(new SendMessageCommand({ QueueUrl: resources.queueUrls.low, MessageBody: '{"id":"x","v":1,"a":1}' }));
    await sqsClient().send(
      new SendMessageCommand({ QueueUrl: resources.queueUrls.low, MessageBody: '{"id":"y","v":1,"a":1}', DelaySeconds: 600 }),
    );
    await sqsClient().send(new SendMessageCommand({ QueueUrl: resources.dlqUrls.high, MessageBody: 'dead' }));
    const { handler: operations } = await import('#handlers/operations.ts');
    const res = await operations(httpEvent('GET', '/lanes'));
    const { status, body } = { status: res.statusCode, body: JSON.parse(res.body) };
    // The intake does not serve it (API Gateway sends it to the operations function).
    expect((await call('GET', '/lanes')).status).toBe(404);
    expect(status).toBe(200);
    expect(body.items.map((l: { name: string }) => l.name)).toEqual(['critical', 'high', 'normal', 'low', 'long']);
    const low = body.items.find((l: { name: string }) => l.name === 'low');
    expect(low).toMatchObject({ consumer: 'worker', maxConcurrency: 5, batchSize: 10, visible: 1, inFlight: 0, delayed: 1, dlq: 0 });
    expect(body.items.find((l: { name: string }) => l.name === 'high')).toMatchObject({ visible: 0, dlq: 1 });
  });
});
