import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsView } from '#api/contract.ts';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { eventually } from '../support/factories.ts';
import { type Api, startRuntime, type Task } from '../support/runtime.ts';

process.env.SLUICE_CANCEL_GRACE_MS = '1000';

let runtime: LocalRuntime;
let api: Api;
beforeAll(async () => {
  // Short leases and a fast sweeper make recoveries take seconds instead of minutes.
  ({ runtime, api } = await startRuntime('containers', { recoverySeconds: 6, sweepIntervalMs: 300, containerCap: 2 }));
});
afterAll(() => runtime.stop());

type Event = { from: string | null; to: string; reason: string; attempt: number; actor: string };
const events = async (id: string) => (await api.request<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items;
const percent = (t: Task) => (t.progress as { percent: number } | null)?.percent ?? 0;
const containerOf = (id: string) => runtime.containers.running().find((c) => c.env.SLUICE_TASK_ID === id);

async function runningContainer(id: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const task = await api.get(id);
    const container = containerOf(id);
    if (task.status === 'RUNNING' && container) return container;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`task ${id} never ran in a container`);
}

describe('long jobs in containers', () => {
  it('runs a container task through the long lane to SUCCEEDED', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 500, steps: 2 }, runtime: 'container', timeoutSeconds: 3600 });
    expect(task.runtime).toBe('container');
    const done = await api.waitFor(task.id, ['SUCCEEDED', 'FAILED'], 30_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 1, result: { steps: 2 } });
    const history = await events(task.id);
    expect(history.map((e) => `${e.from}>${e.to}:${e.reason}:${e.actor}`)).toEqual([
      'null>QUEUED:submit:local',
      'QUEUED>QUEUED:launching:launcher',
      'QUEUED>RUNNING:start:container',
      'RUNNING>SUCCEEDED:completed:container',
    ]);
    // The container's metrics reach GET /stats as a worker's do: the long lane counts it.
    const long = (s: StatsView) => s.lanes.find((l) => l.name === 'long');
    const total = (values: number[] | undefined) => (values ?? []).reduce((a, b) => a + b, 0);
    const stats = await eventually(
      async () => (await api.request<StatsView>('GET', '/stats?minutes=5')).body,
      (s) => total(long(s)?.succeeded) >= 1,
      30_000, // the long lane counts the container task
    );
    expect(total(long(stats)?.started)).toBeGreaterThanOrEqual(1);
    expect(long(stats)?.runTimeP50Ms.some((v) => typeof v === 'number' && v >= 500)).toBe(true);
  });

  it('recovers a task whose runner was killed with SIGKILL: the sweeper re-queues it and attempt 2 succeeds', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 3000, steps: 6 }, runtime: 'container', maxAttempts: 3 });
    const container = await runningContainer(task.id);
    await api.waitFor(task.id, (t) => percent(t) > 0);
    process.kill(container.pid, 'SIGKILL');
    const done = await api.waitFor(task.id, ['SUCCEEDED', 'FAILED'], 40_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    const recovery = (await events(task.id)).find((e) => e.actor === 'sweeper');
    expect(recovery).toMatchObject({ from: 'RUNNING', to: 'QUEUED', attempt: 1 });
    expect(recovery?.reason).toMatch(/^lease-expired/);
  });

  it('hands the task back on SIGTERM without losing progress or an attempt', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 4000, steps: 8 }, runtime: 'container' });
    const container = await runningContainer(task.id);
    const before = await api.waitFor(task.id, (t) => percent(t) >= 25);
    process.kill(container.pid, 'SIGTERM');
    const requeued = await api.waitFor(task.id, (t) => t.status !== 'RUNNING' || t.version > before.version + 1, 10_000);
    expect(percent(requeued)).toBeGreaterThanOrEqual(percent(before));
    const done = await api.waitFor(task.id, ['SUCCEEDED', 'FAILED'], 30_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 1 });
    expect((done.result as { resumedFrom: number }).resumedFrom).toBeGreaterThanOrEqual(2);
    expect((await events(task.id)).map((e) => e.reason)).toContain('evicted');
  });

  it('never runs more containers than the cap, even under a burst', async () => {
    const tasks = await Promise.all(
      Array.from({ length: 6 }, () => api.submit({ type: 'sleep', payload: { ms: 800 }, runtime: 'container' })),
    );
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, runtime.containers.running().length);
    }, 20);
    try {
      for (const t of tasks) expect((await api.waitFor(t.id, ['SUCCEEDED', 'FAILED'], 60_000)).status).toBe('SUCCEEDED');
    } finally {
      clearInterval(sampler);
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
  });

  it('stops a container that ignores a cancel and records CANCELLED', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 1, crash: 'spin' }, runtime: 'container', maxAttempts: 1 });
    const container = await runningContainer(task.id);
    await api.request('POST', `/tasks/${task.id}/cancel`);
    const done = await api.waitFor(task.id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 30_000);
    expect(done.status).toBe('CANCELLED');
    expect((await events(task.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'CANCELLED', reason: 'cancel-forced', actor: 'sweeper' });
    const deadline = Date.now() + 10_000;
    while (container.lastStatus !== 'STOPPED' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(container.lastStatus).toBe('STOPPED');
  });
});
