import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime } from '../support/runtime.ts';

// A short recovery bound makes a dead worker's task come back in seconds; a short worker timeout
// kills a hung invocation the way Lambda would.
let runtime: LocalRuntime;
let api: Api;
beforeAll(async () => {
  ({ runtime, api } = await startRuntime('recovery', { workerTimeoutSeconds: 2, recoverySeconds: 4 }));
});
afterAll(() => runtime.stop());

type Event = { from: string | null; to: string; reason: string; attempt: number };
const events = async (id: string) => (await api.request<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items;

describe('a task that kills its worker', () => {
  it('takes over with a new attempt when the message comes back, and succeeds', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 1, crash: 'exit' }, maxAttempts: 3 });
    const done = await api.waitFor(task.id, ['SUCCEEDED', 'FAILED'], 30_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    expect((await events(task.id)).map((e) => `${e.from}>${e.to}:${e.reason}`)).toEqual([
      'null>QUEUED:submit',
      'QUEUED>RUNNING:start',
      'RUNNING>QUEUED:worker-lost',
      'QUEUED>RUNNING:start',
      'RUNNING>SUCCEEDED:completed',
    ]);
  });

  it('ends FAILED as poison when it keeps crashing, while the tasks around it still succeed', async () => {
    const poison = await api.submit({ type: 'fail', payload: { times: 99, crash: 'exit' }, maxAttempts: 2 });
    const neighbours = await Promise.all(Array.from({ length: 5 }, (_, i) => api.submit({ type: 'echo', payload: { i } })));
    const done = await api.waitFor(poison.id, ['FAILED', 'SUCCEEDED'], 30_000);
    expect(done).toMatchObject({ status: 'FAILED', error: { code: 'poison' } });
    expect((await events(poison.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'FAILED', reason: 'poison' });
    for (const n of neighbours) expect((await api.waitFor(n.id, ['SUCCEEDED', 'FAILED'])).status).toBe('SUCCEEDED');
  });

  it('treats a worker killed at its timeout the same way', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 1, crash: 'hang' }, maxAttempts: 2 });
    const done = await api.waitFor(task.id, ['SUCCEEDED', 'FAILED'], 30_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    expect((await events(task.id)).map((e) => e.reason)).toContain('worker-lost');
  });
});
