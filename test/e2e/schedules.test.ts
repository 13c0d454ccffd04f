/**
 * Schedules end to end on the local runtime: the local Scheduler fires what the stream synced
 * into the Scheduler API, the fire function creates one task per tick, skips overlapping ticks
 * with their reason, and pause/resume/delete reach Scheduler through the stream.
 */
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { type Api, startRuntime } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;
const scheduler = new SchedulerClient({ region: process.env.AWS_REGION ?? 'us-east-1' });

beforeAll(async () => {
  ({ runtime, api } = await startRuntime('schedules'));
});
afterAll(() => runtime?.stop());

type Run = { tick: string; kind: string; taskId: string | null; status: string | null; reason: string | null };
type Schedule = { state: string; counts: { created: number; skipped: number }; nextRuns: string[]; lastRun: { taskId: string } | null };

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const runs = async (name: string) => (await api.request<{ items: Run[] }>('GET', `/schedules/${name}/runs?limit=100`)).body.items;
const schedule = async (name: string) => (await api.request<Schedule>('GET', `/schedules/${name}`)).body;
const schedulerState = async (name: string) =>
  (await scheduler.send(new GetScheduleCommand({ GroupName: runtime.resources.scheduleGroup, Name: name })).catch(() => undefined))?.State;

describe('a 5 s schedule with overlap skip', () => {
  it('creates a task, skips ticks while it runs (with why), creates the next after it ends; pause stops it, resume restarts it', async () => {
    const created = await api.request<Schedule>('POST', '/schedules', {
      name: 'pulse',
      every: '5s',
      task: { type: 'sleep', payload: { ms: 7000 } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'ACTIVE', counts: { created: 0, skipped: 0 } });
    expect(created.body.nextRuns).toHaveLength(5);

    // Oldest first: created, skipped (the first task still sleeping), …, created again after it ended.
    const history = await until('created, skipped, created', async () => {
      const items = (await runs('pulse')).reverse();
      const secondCreated = items.findIndex((r, i) => i > 0 && r.kind === 'created');
      return items[0]?.kind === 'created' && secondCreated > 1 ? items.slice(0, secondCreated + 1) : undefined;
    });
    const [first, ...rest] = history;
    const skips = rest.slice(0, -1);
    expect(skips.length).toBeGreaterThanOrEqual(1);
    for (const skip of skips)
      expect(skip).toMatchObject({ kind: 'skipped', taskId: null, reason: `overlap: the previous task ${first.taskId} is RUNNING` });
    const firstTask = await api.get(first.taskId as string);
    expect(firstTask).toMatchObject({ status: 'SUCCEEDED', schedule: { name: 'pulse', tick: first.tick } });
    // The next task was created after the first one finished.
    expect(Date.parse(history.at(-1)?.tick as string)).toBeGreaterThanOrEqual(Date.parse(String(firstTask.finishedAt)) - 1000);

    // Only its tasks, newest first, carry the schedule.
    const listed = await api.request<{ items: { id: string; schedule: { name: string } }[] }>('GET', '/tasks?schedule=pulse&limit=100');
    expect(listed.body.items.length).toBeGreaterThanOrEqual(2);
    expect(listed.body.items.every((t) => t.schedule.name === 'pulse')).toBe(true);
    expect(listed.body.items.map((t) => t.id)).toContain(first.taskId);

    // Pause: the stream disables the Scheduler schedule, and ticks stop.
    expect((await api.request<Schedule>('POST', '/schedules/pulse/pause')).body).toMatchObject({ state: 'PAUSED', nextRuns: [] });
    await until('Scheduler schedule disabled', async () => ((await schedulerState('pulse')) === 'DISABLED' ? true : undefined));
    const atPause = (await runs('pulse')).length;
    const firedAtPause = runtime.scheduler.fired;
    const pausedAt = Date.now();
    await until('two tick times to pass', async () => (Date.now() - pausedAt > 11_000 ? true : undefined), 15_000);
    expect(runtime.scheduler.fired).toBe(firedAtPause);
    expect((await runs('pulse')).length).toBe(atPause);

    // Resume: ticks come back and create tasks again.
    const before = (await schedule('pulse')).counts.created;
    expect((await api.request<Schedule>('POST', '/schedules/pulse/resume')).body.state).toBe('ACTIVE');
    await until('a task after resume', async () => ((await schedule('pulse')).counts.created > before ? true : undefined));

    // Delete: the Scheduler schedule goes, the tasks stay.
    const deleted = await fetch(`${api.url}/schedules/pulse`, { method: 'DELETE' });
    expect([deleted.status, await deleted.text()]).toEqual([204, '']);
    await until('Scheduler schedule deleted', async () => ((await schedulerState('pulse')) === undefined ? true : undefined));
    expect((await api.request('GET', '/schedules/pulse')).status).toBe(404);
    expect((await api.get(first.taskId as string)).status).toBe('SUCCEEDED');
  });
});

describe('the schedules API', () => {
  it('answers nextRuns for weekday mornings in New York with the offset of each date', async () => {
    const res = await api.request<Schedule>('POST', '/schedules', {
      name: 'ny-mornings',
      cron: '0 9 * * MON-FRI',
      timezone: 'America/New_York',
      task: { type: 'echo' },
    });
    expect(res.status).toBe(201);
    for (const run of res.body.nextRuns) {
      expect(run).toMatch(/T09:00:00-0[45]:00$/);
      // The local date (before the T) is a weekday.
      expect([1, 2, 3, 4, 5]).toContain(new Date(`${run.slice(0, 10)}T12:00:00Z`).getUTCDay());
    }
    expect((await api.request<{ items: { name: string }[] }>('GET', '/schedules')).body.items.map((s) => s.name)).toContain('ny-mornings');
  });

  it('triggers one run now under the overlap rule', async () => {
    await api.request('POST', '/schedules', { name: 'manual', cron: '0 0 1 1 *', task: { type: 'sleep', payload: { ms: 60_000 } } });
    const first = await api.request<{ outcome: string; task: { id: string; schedule: { name: string } } }>(
      'POST',
      '/schedules/manual/trigger',
    );
    expect(first).toMatchObject({ status: 202, body: { outcome: 'created', task: { schedule: { name: 'manual' } } } });
    const second = await api.request<{ outcome: string; reason: string }>('POST', '/schedules/manual/trigger');
    expect(second.body).toMatchObject({ outcome: 'skipped', reason: expect.stringContaining(first.body.task.id) });
    await api.request('POST', `/tasks/${first.body.task.id}/cancel`);
    expect((await runs('manual')).map((r) => r.kind)).toEqual(['skipped', 'created']);
  });

  it('refuses bad input with a clear 4xx and creates nothing', async () => {
    const cases: [unknown, number, string][] = [
      [{ name: 'Bad_Name', every: '1m', task: { type: 'echo' } }, 400, 'invalid-request'],
      [{ name: 'no-when', task: { type: 'echo' } }, 400, 'invalid-schedule'],
      [{ name: 'both', cron: '* * * * *', every: '1m', task: { type: 'echo' } }, 400, 'invalid-schedule'],
      [{ name: 'last-day', cron: '0 0 L * *', task: { type: 'echo' } }, 400, 'invalid-schedule'],
      [{ name: 'too-fast', every: '2s', task: { type: 'echo' } }, 400, 'invalid-schedule'],
      [{ name: 'bad-zone', cron: '0 9 * * *', timezone: 'Nowhere/Town', task: { type: 'echo' } }, 400, 'invalid-schedule'],
      [{ name: 'bad-task', every: '1m', task: { type: 'no-such-type' } }, 400, 'unknown-type'],
      [{ name: 'extra', every: '1m', task: { type: 'echo', runAt: '2030-01-01T00:00:00Z' } }, 400, 'invalid-request'],
      [{ name: 'ny-mornings', every: '1m', task: { type: 'echo' } }, 409, 'schedule-exists'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api.request<{ error: { code: string } }>('POST', '/schedules', body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status, code });
    }
    const names = (await api.request<{ items: { name: string }[] }>('GET', '/schedules?limit=100')).body.items.map((s) => s.name);
    expect(names).not.toContain('no-when');
    expect((await api.request('GET', '/schedules/nope')).status).toBe(404);
    expect((await api.request('POST', '/schedules/Not%20A%20Name/pause')).status).toBe(404);
    expect((await api.request('PATCH', '/schedules/ny-mornings', { name: 'renamed' })).status).toBe(400);
    expect((await api.request('GET', '/schedules/ny-mornings/runs?cursor=zzz')).status).toBe(400);
  });
});
