import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime, type Task } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;
beforeAll(async () => {
  ({ runtime, api } = await startRuntime('skeleton'));
});
afterAll(() => runtime.stop());

describe('the local runtime, over HTTP', () => {
  it('runs a submitted task to SUCCEEDED with its result and timings', async () => {
    const res = await fetch(`${api.url}/tasks`, {
      method: 'POST',
      // exactly what `curl -d` sends
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"type":"echo","payload":{"hi":1},"priority":"high"}',
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as Task;
    const done = await api.waitFor(id, ['SUCCEEDED', 'FAILED']);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { hi: 1 }, attempt: 1, priority: 'high' });
    const [created, started, finished] = [done.createdAt, done.startedAt, done.finishedAt].map((t) => Date.parse(String(t)));
    expect(created).toBeLessThanOrEqual(started);
    expect(started).toBeLessThanOrEqual(finished);
  });

  it('runs every task of a batch', async () => {
    const tasks = Array.from({ length: 25 }, (_, i) => ({
      type: 'echo',
      payload: { i },
      priority: (['critical', 'high', 'normal', 'low'] as const)[i % 4],
    }));
    const { status, body } = await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks });
    expect(status).toBe(201);
    const done = await Promise.all(body.items.map((t) => api.waitFor(t.id, ['SUCCEEDED'])));
    expect(done.map((t) => (t.result as { i: number }).i)).toEqual(tasks.map((t) => t.payload.i));
  });

  it('ends a throwing task FAILED with its message, never a 5xx to the submitter', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 3, message: 'broken on purpose' }, maxAttempts: 1 });
    const done = await api.waitFor(task.id, ['FAILED', 'SUCCEEDED']);
    expect(done.status).toBe('FAILED');
    expect(done.error).toEqual({ code: 'task-error', message: expect.stringContaining('broken on purpose') });
  });

  it('replays an idempotent submit without creating a second task', async () => {
    const headers = { 'idempotency-key': `e2e-${Date.now()}` };
    const first = await api.request<Task>('POST', '/tasks', { type: 'echo', payload: { once: true } }, headers);
    const second = await api.request<Task>('POST', '/tasks', { type: 'echo', payload: { once: true } }, headers);
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.id).toBe(first.body.id);
    const listed = await api.request<{ items: Task[] }>('GET', '/tasks?limit=100');
    expect(listed.body.items.filter((t) => JSON.stringify(t.payload) === '{"once":true}')).toHaveLength(1);
  });

  it('runs critical work while the low lane is backed up', async () => {
    // More than the low lane can hold at once: 5 concurrent invocations × batches of 10.
    const backlog = Array.from({ length: 100 }, () => ({ type: 'sleep', payload: { ms: 2000 }, priority: 'low' }));
    const first = await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks: backlog });
    const second = await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks: backlog });
    const body = { items: [...first.body.items, ...second.body.items] };
    await api.waitFor(body.items[0].id, ['RUNNING', 'SUCCEEDED']);
    const critical = await api.submit({ type: 'echo', payload: { urgent: true }, priority: 'critical' });
    const done = await api.waitFor(critical.id, ['SUCCEEDED']);
    const lows = await Promise.all(body.items.map((t) => api.get(t.id)));
    // The critical task finished while most of the low backlog was still waiting for capacity.
    expect(lows.filter((t) => t.status === 'QUEUED').length).toBeGreaterThan(50);
    expect(done.status).toBe('SUCCEEDED');
  });

  it('answers bad input with {error: {code, message}}', async () => {
    const cases: [string, string, unknown, number][] = [
      ['POST', '/tasks', '{"type":', 400],
      ['POST', '/tasks', { payload: {} }, 400],
      ['POST', '/tasks', { type: 'nope' }, 400],
      ['POST', '/tasks', { type: 'echo', priority: 'urgent' }, 400],
      ['GET', '/tasks/01m86ghs3b2k721tmtwhexw', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await api.request<{ error: { code: string; message: string } }>(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    const media = await fetch(`${api.url}/tasks`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"type":"echo"}' });
    expect(media.status).toBe(415);
    const large = await api.request('POST', '/tasks', { type: 'echo', payload: 'x'.repeat(2_000_000) });
    expect(large.status).toBe(413);
  });
});
