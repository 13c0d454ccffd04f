/**
 * Admission and release of one limit side by side, as AWS runs them when a table's stream has
 * several shards (or a ParallelizationFactor above 1): the local stream is delivered in four
 * ordered sequences at once. Single submissions (admitted by the dispatcher), a batch (born
 * waiting), tasks under two limits (woken with a write) and under one (handed their slot with the
 * message), pauses, resumes and cancels — every task ends, none is stranded waiting, no key runs
 * more than its limit, and every slot and waiter item is given back. The race itself (a release
 * and an admission of one limit offset by a few milliseconds) is pinned down in
 * test/integration/admission-race.test.ts (it fails when admission skips its second look).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mostAtOnce } from '../../bin/bench/tenancy.ts';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime, type Task } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;

beforeAll(async () => {
  ({ runtime, api } = await startRuntime('admission-race', { recoverySeconds: 30, streamParallelization: 4 }));
});
afterAll(() => runtime?.stop());

type Listed = Task & {
  tenant: string;
  concurrencyKey?: string;
  waitingFor: { scope: string; key: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
};
type Usage = { usage: { running: number; startsInPeriod: number; waiting: number } };

const TENANT_LIMIT = 3;
const KEY_LIMIT = 2;
const pauseFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ended = (t: Listed) => ['SUCCEEDED', 'CANCELLED'].includes(t.status);

/** The tasks once all have ended, or nothing has ended for 40 s (a stranded waiter never does): then it fails, saying what they show. */
async function untilEnded(ids: readonly string[]): Promise<Listed[]> {
  let tasks: Listed[] = [];
  let left = Number.POSITIVE_INFINITY;
  let lastProgress = Date.now();
  for (;;) {
    tasks = (await api.listAll<Listed>('')).filter((t) => ids.includes(t.id));
    const now = tasks.filter((t) => !ended(t)).length;
    if (now < left) [left, lastProgress] = [now, Date.now()];
    if ((left === 0 && tasks.length === ids.length) || Date.now() - lastProgress > 40_000) break;
    await pauseFor(500);
  }
  const unfinished = tasks
    .filter((t) => !ended(t))
    .map((t) => ({ id: t.id, status: t.status, version: t.version, waitingFor: t.waitingFor }));
  expect(unfinished).toEqual([]);
  expect(tasks).toHaveLength(ids.length);
  return tasks;
}

describe('admission and release of one limit side by side (four stream sequences at once)', () => {
  it('ends every task, strands no waiter, never runs a key over its limit and gives every slot back', async () => {
    expect((await api.request('PUT', '/limits/tenant/race', { concurrency: TENANT_LIMIT })).status).toBe(200);
    expect((await api.request('PUT', '/limits/key/race-partner', { concurrency: KEY_LIMIT })).status).toBe(200);
    // A third under the key alone (handed their slot with the message), a third under the tenant
    // and its fair share (woken with a write), a third under all three.
    const task = (i: number) => ({
      type: 'sleep',
      payload: { ms: 20 + (i % 5) * 20 },
      ...(i % 3 !== 0 ? { tenant: 'race' } : {}),
      ...(i % 3 !== 1 ? { concurrencyKey: 'race-partner' } : {}),
    });
    const batch = api.submitBatch(Array.from({ length: 80 }, (_, i) => task(i)));
    const cancelled = new Set<string>();
    const singles = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        await pauseFor(i * 30);
        const submitted = await api.submit(task(i));
        if (i % 10 === 4) {
          // Paused while it waits or runs, resumed a little later: it gives its slot back and is admitted afresh.
          if ((await api.request('POST', `/tasks/${submitted.id}/pause`)).status === 202) {
            await pauseFor(100);
            await api.request('POST', `/tasks/${submitted.id}/resume`);
          }
        }
        if (i % 10 === 7 && (await api.request('POST', `/tasks/${submitted.id}/cancel`)).status === 202) cancelled.add(submitted.id);
        return submitted.id;
      }),
    );
    const ids = [...singles, ...(await batch).map((t) => t.id)];
    const tasks = await untilEnded(ids);
    for (const t of tasks) if (!cancelled.has(t.id)) expect(t.status).toBe('SUCCEEDED');
    // Started and finished times of the tasks that ran to the end (a paused one's first run is
    // not among them, so this judges only the last attempts: a lower bound on what ran at once).
    const ran = tasks.filter((t) => t.startedAt && t.finishedAt && t.status === 'SUCCEEDED');
    const interval = (t: Listed): [number, number] => [Date.parse(String(t.startedAt)), Date.parse(String(t.finishedAt))];
    expect(mostAtOnce(ran.filter((t) => t.tenant === 'race').map(interval))).toBeLessThanOrEqual(TENANT_LIMIT);
    expect(mostAtOnce(ran.filter((t) => t.concurrencyKey === 'race-partner').map(interval))).toBeLessThanOrEqual(KEY_LIMIT);
    // Both ways out of waiting were taken: handed a slot with the message (the key alone) and woken.
    const handedOrWoken = async (i: number) =>
      (await api.request<{ items: { reason: string }[] }>('GET', `/tasks/${singles[i]}/events`)).body.items.some((e) =>
        e.reason.startsWith('slot-free:'),
      );
    const sample = Array.from({ length: 40 }, (_, n) => 80 + n).filter((i) => i % 10 !== 7 && i % 10 !== 4);
    expect(await Promise.all(sample.filter((i) => i % 3 === 0).map(handedOrWoken))).toContain(true);
    expect(await Promise.all(sample.filter((i) => i % 3 === 1).map(handedOrWoken))).toContain(true);
    for (const path of ['/limits/tenant/race', '/limits/key/race-partner']) {
      expect((await api.request<Usage>('GET', path)).body.usage).toMatchObject({ running: 0, waiting: 0 });
    }
  }, 300_000);
});
