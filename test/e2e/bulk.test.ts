/**
 * Bulk actions end to end on the local runtime: a dry run counts what a filter matches, and the
 * bulk task applies the action to exactly those, with progress and `bulk:<id>` as the actor in
 * each changed task's history; bad requests are refused and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime, type Task } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;

beforeAll(async () => {
  ({ runtime, api } = await startRuntime('bulk'));
});
afterAll(() => runtime?.stop());

type Event = { reason: string; actor: string };
const events = async (id: string) => (await api.request<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items;

describe('POST /tasks/bulk', () => {
  it('counts the matches in a dry run, then retries exactly those FAILED tasks in a bulk task', async () => {
    const failed = await Promise.all(
      [1, 2, 3].map(() => api.submit({ type: 'fail', payload: { message: 'planned', times: 1 }, maxAttempts: 1, tenant: 'bulk-a' })),
    );
    const other = await api.submit({ type: 'fail', payload: { message: 'planned' }, maxAttempts: 1, tenant: 'bulk-b' });
    await Promise.all([...failed, other].map((t) => api.waitFor(t.id, ['FAILED'])));
    const request = { filter: { status: 'FAILED', tenant: 'bulk-a' }, action: 'retry' };
    const dry = await api.request<{ matching: number }>('POST', '/tasks/bulk', { ...request, dryRun: true });
    expect(dry).toMatchObject({ status: 200, body: { matching: 3 } });
    // The dry run changed nothing.
    expect((await api.request<Task>('GET', `/tasks/${failed[0].id}`)).body.status).toBe('FAILED');

    const bulk = await api.request<Task & { type: string }>('POST', '/tasks/bulk', request);
    expect(bulk.status).toBe(202);
    expect(bulk.body.type).toBe('bulk');
    const done = await api.waitFor(bulk.body.id, ['SUCCEEDED'], 30_000);
    expect(done.result).toEqual({ action: 'retry', matched: 3, applied: 3, skipped: 0 });
    expect(done.progress).toMatchObject({ percent: 100 });
    for (const t of failed) {
      // Retried by the bulk task, which the history names (then it ran again).
      await api.waitFor(t.id, (x) => x.version > 3 && ['SUCCEEDED', 'FAILED'].includes(x.status), 30_000);
      expect(await events(t.id)).toEqual(
        expect.arrayContaining([expect.objectContaining({ reason: 'rerun', actor: `bulk:${bulk.body.id}` })]),
      );
    }
    expect((await api.request<Task>('GET', `/tasks/${other.id}`)).body.status).toBe('FAILED');
    // The bulk task's own history says who asked.
    expect((await events(bulk.body.id))[0]).toMatchObject({ reason: 'submit', actor: 'local' });
  });

  it('is a task like any other: paused in the middle of its walk, resumed, it goes on from its checkpoint', async () => {
    // Ten pages: the walk must outlast a pause's way to it (the emulator got faster, and three
    // pages were walked before the pause landed).
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const tasks = Array.from({ length: 100 }, () => ({ type: 'echo', delaySeconds: 3600, tenant: 'bulk-walk' }));
      ids.push(...(await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks })).body.items.map((t) => t.id));
    }
    const bulk = (
      await api.request<Task>('POST', '/tasks/bulk', {
        filter: { tenant: 'bulk-walk', status: 'SCHEDULED' },
        action: 'priority',
        priority: 'low',
      })
    ).body;
    // Between pages: some applied, not all.
    await api.waitFor(bulk.id, (t) => (t.progress as { percent: number } | null)?.percent !== undefined && t.status === 'RUNNING', 30_000);
    expect((await api.request('POST', `/tasks/${bulk.id}/pause`)).status).toBe(202);
    const paused = await api.waitFor(bulk.id, ['PAUSED', 'SUCCEEDED'], 30_000);
    if (paused.status === 'PAUSED') {
      expect((paused.progress as { percent: number }).percent).toBeLessThan(100);
      expect((await api.request('POST', `/tasks/${bulk.id}/resume`)).status).toBe(202);
    }
    const done = await api.waitFor(bulk.id, ['SUCCEEDED'], 60_000);
    // Every task once: a page applied before the pause is not walked again.
    expect(done.result).toEqual({ action: 'priority', matched: 1000, applied: 1000, skipped: 0 });
    const listed = (await api.request<{ items: { priority: string }[] }>('GET', '/tasks?tenant=bulk-walk&limit=100')).body.items;
    expect(listed.every((t) => t.priority === 'low')).toBe(true);
    expect(paused.status, 'the walk finished before the pause landed: make it longer').toBe('PAUSED');
  });

  it('refuses a bad request with a 400 and creates nothing', async () => {
    const before = (await api.request<{ items: Task[] }>('GET', '/tasks?type=bulk&limit=100')).body.items.length;
    for (const body of [
      { filter: {}, action: 'explode' },
      { filter: { status: 'NOPE' }, action: 'cancel' },
      { filter: {}, action: 'priority' },
      { filter: {}, action: 'cancel', priority: 'high' },
      { filter: { createdAfter: 'yesterday' }, action: 'cancel' },
      { action: 'cancel' },
    ]) {
      const res = await api.request<{ error: { code: string } }>('POST', '/tasks/bulk', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api.request<{ items: Task[] }>('GET', '/tasks?type=bulk&limit=100')).body.items.length).toBe(before);
  });
});
