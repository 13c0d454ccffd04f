import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime, type Task } from '../support/runtime.ts';

// Workers inherit these: a short cancel grace and control poll keep the tests quick.
process.env.SLUICE_CANCEL_GRACE_MS = '1000';
process.env.SLUICE_CONTROL_POLL_MS = '300';

let runtime: LocalRuntime;
let api: Api;
beforeAll(async () => {
  ({ runtime, api } = await startRuntime('control'));
});
afterAll(() => runtime.stop());

type Event = { at: string; from: string | null; to: string; reason: string; attempt: number; actor: string };
const events = async (id: string) => (await api.request<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items;
const control = (id: string, action: string) => api.request<Task>('POST', `/tasks/${id}/${action}`);
const percent = (t: Task) => (t.progress as { percent: number } | null)?.percent ?? 0;

describe('pause and resume', () => {
  it('pauses a running sleep at its next checkpoint, keeps it paused, and resumes without redoing steps', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 4000, steps: 8 } });
    await api.waitFor(task.id, (t) => percent(t) >= 25);
    const asked = await control(task.id, 'pause');
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ status: 'RUNNING', control: 'pause' });

    const paused = await api.waitFor(task.id, ['PAUSED']);
    const kept = percent(paused);
    expect(kept).toBeGreaterThanOrEqual(25);
    expect(paused.control).toBeNull();
    await new Promise((r) => setTimeout(r, 1500));
    const still = await api.get(task.id);
    expect(still.status).toBe('PAUSED');
    expect(percent(still)).toBe(kept);

    expect((await control(task.id, 'resume')).status).toBe(202);
    const seen: number[] = [];
    const done = await api.waitFor(task.id, (t) => {
      seen.push(percent(t));
      return t.status === 'SUCCEEDED';
    });
    // Progress never went backwards across the pause, and the finished steps were not redone.
    expect(seen.every((p, i) => i === 0 || p >= seen[i - 1])).toBe(true);
    expect(seen[0]).toBeGreaterThanOrEqual(kept);
    const result = done.result as { resumedFrom: number };
    expect(result.resumedFrom).toBeGreaterThanOrEqual(2);
    expect(done.attempt).toBe(1); // pausing did not consume an attempt

    const history = await events(task.id);
    expect(history.map((e) => `${e.from}>${e.to}:${e.reason}:${e.actor}`)).toEqual([
      'null>QUEUED:submit:local',
      'QUEUED>RUNNING:start:system',
      'RUNNING>RUNNING:pause-requested:local',
      'RUNNING>PAUSED:paused:system',
      'PAUSED>QUEUED:resumed:local',
      'QUEUED>RUNNING:start:system',
      'RUNNING>SUCCEEDED:completed:system',
    ]);
  });

  it('pauses a queued task at once', async () => {
    const task = await api.submit({ type: 'echo', delaySeconds: 60 });
    expect(task.status).toBe('SCHEDULED');
    const paused = await control(task.id, 'pause');
    expect(paused.body.status).toBe('PAUSED');
    const resumed = await control(task.id, 'resume');
    expect(resumed.body.status).toBe('QUEUED');
    await api.waitFor(task.id, ['SUCCEEDED']);
  });
});

describe('cancel', () => {
  it('cancels a running task through its abort signal', async () => {
    const task = await api.submit({ type: 'sleep', payload: { ms: 20_000, steps: 2 } });
    await api.waitFor(task.id, ['RUNNING']);
    const asked = await control(task.id, 'cancel');
    expect(asked.body).toMatchObject({ status: 'RUNNING', control: 'cancel' });
    const done = await api.waitFor(task.id, ['CANCELLED'], 10_000);
    expect(done.finishedAt).not.toBeNull();
    expect((await events(task.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'CANCELLED', reason: 'cancelled' });
  });

  it('records CANCELLED after the grace period even when the task ignores its signal', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 1, crash: 'hang' }, maxAttempts: 1 });
    await api.waitFor(task.id, ['RUNNING']);
    await control(task.id, 'cancel');
    const done = await api.waitFor(task.id, ['CANCELLED'], 10_000);
    expect(done.status).toBe('CANCELLED');
  });

  it('cancels a queued task at once, and refuses to cancel it again (409 with the task)', async () => {
    const task = await api.submit({ type: 'echo', delaySeconds: 300 });
    const cancelled = await control(task.id, 'cancel');
    expect(cancelled).toMatchObject({ status: 202, body: { status: 'CANCELLED' } });
    const again = await api.request<{ error: { code: string }; task: Task }>('POST', `/tasks/${task.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid-transition');
    expect(again.body.task.status).toBe('CANCELLED');
  });
});

describe('retries and re-runs', () => {
  it('retries a failing task with backoff until it succeeds', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 1 }, maxAttempts: 3 });
    const done = await api.waitFor(task.id, ['SUCCEEDED', 'FAILED'], 20_000);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2, result: { succeededOnAttempt: 2 } });
    const history = await events(task.id);
    expect(history.filter((e) => e.reason.startsWith('retry-backoff'))).toHaveLength(1);
  });

  it('fails when attempts run out, and re-runs on retry with a new attempt series', async () => {
    const task = await api.submit({ type: 'fail', payload: { times: 9 }, maxAttempts: 2 });
    const failed = await api.waitFor(task.id, ['FAILED'], 20_000);
    expect(failed).toMatchObject({ attempt: 2, error: { code: 'task-error', message: expect.stringContaining('planned failure') } });
    const rerun = await control(task.id, 'retry');
    expect(rerun).toMatchObject({ status: 202, body: { status: 'QUEUED', attempt: 0, error: null } });
    await api.waitFor(task.id, (t) => t.status === 'FAILED' && t.version > failed.version, 20_000);
    const history = await events(task.id);
    expect(history.filter((e) => e.to === 'RUNNING').map((e) => e.attempt)).toEqual([1, 2, 1, 2]);
    expect(history.find((e) => e.reason === 'rerun')).toMatchObject({ from: 'FAILED', to: 'QUEUED', actor: 'local' });
  });
});

describe('priority', () => {
  it('moves a queued low task to critical, where it overtakes the low backlog ahead of it', async () => {
    const backlog = Array.from({ length: 100 }, () => ({ type: 'sleep', payload: { ms: 2000 }, priority: 'low' }));
    const first = await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks: backlog });
    const second = await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks: backlog });
    const ahead = [...first.body.items, ...second.body.items];
    const late = await api.submit({ type: 'echo', payload: { promoted: true }, priority: 'low' });
    const changed = await api.request<Task>('PATCH', `/tasks/${late.id}`, { priority: 'critical' });
    expect(changed).toMatchObject({ status: 200, body: { priority: 'critical' } });
    const done = await api.waitFor(late.id, ['SUCCEEDED']);
    const behind = (await Promise.all(ahead.map((t) => api.get(t.id)))).filter((t) => t.status === 'QUEUED');
    expect(behind.length).toBeGreaterThan(50);
    expect(done.status).toBe('SUCCEEDED');
    expect((await events(late.id)).map((e) => e.reason)).toContain('priority:low>critical');
    await Promise.all(behind.map((t) => control(t.id, 'cancel')));
  });

  it('rejects an invalid priority and changes nothing', async () => {
    const task = await api.submit({ type: 'echo', delaySeconds: 300 });
    const res = await api.request<{ error: { code: string } }>('PATCH', `/tasks/${task.id}`, { priority: 'urgent' });
    expect(res.status).toBe(400);
    expect((await api.get(task.id)).version).toBe(task.version);
  });
});

describe('delayed tasks', () => {
  it('holds a delayed task SCHEDULED, then runs it when due', async () => {
    const task = await api.submit({ type: 'echo', payload: 'later', delaySeconds: 2 });
    expect(task.status).toBe('SCHEDULED');
    expect((await api.get(task.id)).status).toBe('SCHEDULED');
    const done = await api.waitFor(task.id, ['SUCCEEDED'], 15_000);
    expect(Date.parse(String(done.startedAt))).toBeGreaterThanOrEqual(Date.parse(String(task.runAt)));
    expect((await events(task.id)).map((e) => `${e.from}>${e.to}`)).toEqual([
      'null>SCHEDULED',
      'SCHEDULED>QUEUED',
      'QUEUED>RUNNING',
      'RUNNING>SUCCEEDED',
    ]);
  });
});

describe('control on what cannot be controlled', () => {
  it('answers 404 for an unknown task and 409 for pausing a finished one, writing nothing', async () => {
    expect((await control('01m86ghs3b2k721tmtwhexw', 'pause')).status).toBe(404);
    const task = await api.submit({ type: 'echo' });
    const done = await api.waitFor(task.id, ['SUCCEEDED']);
    for (const action of ['pause', 'resume', 'cancel']) expect((await control(task.id, action)).status).toBe(409);
    expect((await api.request('PATCH', `/tasks/${task.id}`, { priority: 'high' })).status).toBe(409);
    expect((await api.get(task.id)).version).toBe(done.version);
    expect((await control(task.id, 'explode')).status).toBe(404);
  });
});
