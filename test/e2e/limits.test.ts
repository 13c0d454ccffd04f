/**
 * Tenants and limits end to end on the local runtime: concurrency limits hold (tasks wait parked,
 * without being received again and again, and are woken in order), rate limits space starts, and a
 * killed holder's task is recovered and the queue keeps moving (fair share: fairness.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime, type Task } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;

beforeAll(async () => {
  ({ runtime, api } = await startRuntime('limits', { recoverySeconds: 6 }));
});
afterAll(() => runtime?.stop());

type Listed = Task & {
  tenant: string;
  waitingFor: { scope: string; key: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
};
type Event = { from: string | null; to: string; reason: string; actor: string };

const list = async (query: string) => (await api.request<{ items: Listed[] }>('GET', `/tasks?${query}&limit=100`)).body.items;
const events = async (id: string) => (await api.request<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items;
const submitMany = (n: number, task: Record<string, unknown>) => api.submitBatch(Array.from({ length: n }, () => task));

describe('a tenant limited to 2 at once', () => {
  it('never runs more than 2, parks the rest as QUEUED with waitingFor, runs them all, and costs about one invocation each', async () => {
    expect((await api.request('PUT', '/limits/tenant/acme', { concurrency: 2 })).status).toBe(200);
    const invocationsBefore = runtime.invocations.worker?.count ?? 0;
    const ids = (await submitMany(12, { type: 'sleep', payload: { ms: 1500 }, tenant: 'acme' })).map((t) => t.id);
    let mostRunning = 0;
    let sawWaiting = 0;
    for (;;) {
      const tasks = (await list('tenant=acme')).filter((t) => ids.includes(t.id));
      mostRunning = Math.max(mostRunning, tasks.filter((t) => t.status === 'RUNNING').length);
      sawWaiting = Math.max(sawWaiting, tasks.filter((t) => t.status === 'QUEUED' && t.waitingFor?.key === 'acme').length);
      if (tasks.length === 12 && tasks.every((t) => t.status === 'SUCCEEDED')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(mostRunning).toBe(2);
    expect(sawWaiting).toBeGreaterThanOrEqual(5);
    // Waiting is not spinning: each task reached a worker about once.
    expect((runtime.invocations.worker?.count ?? 0) - invocationsBefore).toBeLessThanOrEqual(12 + 4);
    const last = (await Promise.all(ids.map(async (id) => ({ id, events: await events(id) })))).find((t) =>
      t.events.some((e) => e.reason.startsWith('waiting-for-slot')),
    );
    expect(last?.events.map((e) => e.reason)).toEqual([
      'submit',
      'waiting-for-slot: tenant acme (limit 2)',
      'slot-free: tenant acme (limit 2)',
      'start',
      'completed',
    ]);
    const usage = (await api.request<{ usage: { running: number; waiting: number } }>('GET', '/limits/tenant/acme')).body.usage;
    expect(usage).toEqual({ running: 0, startsInPeriod: 0, waiting: 0 });
  });

  it('gives a killed holder’s task its slot back through recovery, and the queue keeps moving', async () => {
    await api.request('PUT', '/limits/tenant/solo', { concurrency: 1 });
    const first = await api.submit({ type: 'sleep', payload: { ms: 2500 }, tenant: 'solo' });
    await api.waitFor(first.id, ['RUNNING']);
    const second = await api.submit({ type: 'sleep', payload: { ms: 2500 }, tenant: 'solo' });
    const waiting = await api.waitFor(second.id, (t) => t.waitingFor !== null);
    expect(waiting).toMatchObject({ status: 'QUEUED', waitingFor: { scope: 'tenant', key: 'solo' } });
    const busy = runtime.workers.get('normal')?.busy() ?? [];
    for (const pid of busy) process.kill(pid, 'SIGKILL');
    await api.waitFor(first.id, ['SUCCEEDED'], 40_000);
    await api.waitFor(second.id, ['SUCCEEDED'], 40_000);
    const reasons = (await events(first.id)).map((e) => e.reason);
    expect(reasons.some((r) => /lost|lease/.test(r))).toBe(true);
    const secondReasons = (await events(second.id)).map((e) => e.reason);
    expect(secondReasons).toContain('slot-free: tenant solo (limit 1)');
  });
});

describe('a key limited to 3 starts per 4 s', () => {
  it('never starts more than 3 in any 4 s window, delaying the rest with rate-limited in their history', async () => {
    await api.request('PUT', '/limits/key/partner-x', { rate: { limit: 3, periodSeconds: 4 } });
    const ids = (await submitMany(9, { type: 'echo', concurrencyKey: 'partner-x' })).map((t) => t.id);
    const done = await Promise.all(ids.map((id) => api.waitFor(id, ['SUCCEEDED'], 60_000)));
    const starts = done.map((t) => Date.parse(String(t.startedAt))).sort((a, b) => a - b);
    for (const start of starts) expect(starts.filter((s) => s >= start && s < start + 4000).length).toBeLessThanOrEqual(3);
    const delayed = await Promise.all(ids.map(events));
    const rateLimited = delayed.filter((e) => e.some((x) => /^rate-limited: key#partner-x; delayed \d+\.\d s$/.test(x.reason)));
    expect(rateLimited.length).toBeGreaterThanOrEqual(6);
    const limit = (await api.request<{ usage: { startsInPeriod: number } }>('GET', '/limits/key/partner-x')).body;
    expect(limit).toMatchObject({ scope: 'key', key: 'partner-x', rate: { limit: 3, periodSeconds: 4 } });
  });
});

describe('the limits API', () => {
  it('lists, reads and deletes limits, and refuses bad ones with a 4xx', async () => {
    const listed = (await api.request<{ items: { scope: string; key: string }[] }>('GET', '/limits')).body.items.map(
      (l) => `${l.scope}/${l.key}`,
    );
    expect(listed).toEqual(expect.arrayContaining(['tenant/acme', 'key/partner-x']));
    for (const [path, body, status] of [
      ['/limits/tenant/acme', { concurrency: 0 }, 400],
      ['/limits/tenant/acme', { rate: { limit: 5 } }, 400],
      ['/limits/tenant/acme', {}, 400],
      ['/limits/tenant/default', { concurrency: 5 }, 400],
      ['/limits/planet/acme', { concurrency: 5 }, 404],
      ['/limits/tenant/bad%20key', { concurrency: 5 }, 404],
    ] as const) {
      expect([path, (await api.request('PUT', path, body)).status]).toEqual([path, status]);
    }
    expect((await api.request('POST', '/tasks', { type: 'echo', tenant: 'no spaces' })).status).toBe(400);
    expect((await fetch(`${api.url}/limits/key/partner-x`, { method: 'DELETE' })).status).toBe(204);
    expect((await api.request('GET', '/limits/key/partner-x')).status).toBe(404);
    expect((await fetch(`${api.url}/limits/key/partner-x`, { method: 'DELETE' })).status).toBe(404);
  });
});
