/**
 * Schedules against the emulator: one task per tick however often a tick is delivered, the
 * overlap rules, and the sync and repair that keep EventBridge Scheduler in line with the items.
 */
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '#core/clients.ts';
import { TaskControl } from '#core/control.ts';
import { ScheduleControl } from '#core/schedule-control.ts';
import { ScheduleFiring, tickTaskId } from '#core/schedule-firing.ts';
import { ScheduleStore } from '#core/schedule-store.ts';
import { SchedulerSync, SYNC_GRACE_MS } from '#core/schedule-sync.ts';
import type { TaskStore } from '#core/store.ts';
import type { TaskSubmitter } from '#core/submission.ts';
import { storesForTest, type TestResources, tableItems } from '../support/aws.ts';

let resources: TestResources;
let store: TaskStore;
let submitter: TaskSubmitter;
let schedules: ScheduleStore;
let firing: ScheduleFiring;
let control: ScheduleControl;
let sync: SchedulerSync;
const scheduler = new SchedulerClient({ region: process.env.AWS_REGION ?? 'us-east-1' });

beforeAll(async () => {
  ({ resources, store, submitter } = await storesForTest('schedules'));
  schedules = new ScheduleStore(dynamo(), resources.tableName);
  firing = new ScheduleFiring(schedules, store, submitter, new TaskControl(store));
  control = new ScheduleControl(schedules, store, submitter, firing, 60);
  sync = new SchedulerSync(scheduler, {
    group: resources.scheduleGroup,
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fire',
    roleArn: 'arn:aws:iam::000000000000:role/scheduler',
  });
});
afterAll(() => resources.cleanup());

const TICK = Date.parse('2027-01-04T09:00:00Z');
const create = (name: string, extra: Record<string, unknown> = {}) =>
  control.create({ name, cron: '0 9 * * *', task: { type: 'echo', payload: { n: 1 } }, ...extra }, 'tester');

describe('one tick, one task', () => {
  it('fires the same tick twice and creates one task, one run, one count', async () => {
    await create('twice', { overlap: 'queue' });
    const [first, second] = [await firing.fire('twice', TICK), await firing.fire('twice', TICK)];
    expect(first.kind).toBe('created');
    expect(second.kind).toBe('duplicate');
    const concurrent = await Promise.all([1, 2, 3].map(() => firing.fire('twice', TICK + 86_400_000)));
    expect(concurrent.filter((o) => o.kind === 'created')).toHaveLength(1);

    const items = await tableItems(resources.tableName);
    const tasks = items.filter((i) => i.scheduleName === 'twice');
    expect(tasks.map((t) => t.scheduleTick).sort()).toEqual([TICK, TICK + 86_400_000]);
    expect(tasks.map((t) => t.id).sort()).toEqual([tickTaskId('twice', TICK), tickTaskId('twice', TICK + 86_400_000)].sort());
    const { book } = await control.get('twice');
    expect(book).toMatchObject({ created: 2, skipped: 0, lastTick: TICK + 86_400_000 });
    const runs = await control.runs('twice', 10);
    expect(runs.items.map((r) => r.run.kind)).toEqual(['created', 'created']);
    expect((await store.events(tickTaskId('twice', TICK)))[0]).toMatchObject({
      reason: 'schedule-tick',
      actor: 'schedule:twice',
      to: 'QUEUED',
    });
  });

  it('finishes a delivery that died between deciding the tick and writing its task, without a second task', async () => {
    await create('crashed', { overlap: 'queue' });
    const id = tickTaskId('crashed', TICK);
    // What the dead delivery left: the tick decided ("created", counted), no task.
    expect(await schedules.recordRun('crashed', { tick: TICK, at: TICK, kind: 'created', manual: false, taskId: id })).toBe(true);
    expect(await store.find(id)).toBeUndefined();
    expect((await firing.fire('crashed', TICK)).kind).toBe('duplicate');
    expect((await firing.fire('crashed', TICK)).kind).toBe('duplicate');
    expect(await store.get(id)).toMatchObject({ scheduleName: 'crashed', scheduleTick: TICK, status: 'QUEUED' });
    const { book } = await control.get('crashed');
    expect(book).toMatchObject({ created: 1, lastTaskId: id });
    expect((await tableItems(resources.tableName)).filter((i) => i.scheduleName === 'crashed')).toHaveLength(1);
  });

  it('ignores a tick of a schedule that no longer exists', async () => {
    expect((await firing.fire('never-was', TICK)).kind).toBe('no-schedule');
    expect((await tableItems(resources.tableName)).filter((i) => i.scheduleName === 'never-was')).toHaveLength(0);
  });
});

describe('overlap', () => {
  it('skip: no task while the previous one is not finished, with the reason; a task once it is', async () => {
    await create('skipper');
    const first = await firing.fire('skipper', TICK);
    if (first.kind !== 'created') throw new Error(first.kind);
    const skipped = await firing.fire('skipper', TICK + 60_000);
    expect(skipped).toEqual({ kind: 'skipped', reason: `overlap: the previous task ${first.task.id} is QUEUED` });
    await new TaskControl(store).apply(first.task.id, { action: 'cancel' }, 'tester');
    expect((await firing.fire('skipper', TICK + 120_000)).kind).toBe('created');
    const runs = (await control.runs('skipper', 10)).items.map(({ run }) => [run.kind, run.reason ?? null]);
    expect(runs).toEqual([
      ['created', null],
      ['skipped', `overlap: the previous task ${first.task.id} is QUEUED`],
      ['created', null],
    ]);
    expect((await control.get('skipper')).book).toMatchObject({ created: 2, skipped: 1 });
  });

  it('queue: creates the next task anyway', async () => {
    await create('queuer', { overlap: 'queue' });
    expect((await firing.fire('queuer', TICK)).kind).toBe('created');
    expect((await firing.fire('queuer', TICK + 60_000)).kind).toBe('created');
  });

  it('cancel-previous: cancels the unfinished one (recorded with the schedule as actor), then creates', async () => {
    await create('canceller', { overlap: 'cancel-previous' });
    const first = await firing.fire('canceller', TICK);
    if (first.kind !== 'created') throw new Error(first.kind);
    const second = await firing.fire('canceller', TICK + 60_000);
    expect(second).toMatchObject({ kind: 'created', cancelledPrevious: first.task.id });
    expect((await store.get(first.task.id)).status).toBe('CANCELLED');
    expect((await store.events(first.task.id)).at(-1)).toMatchObject({ to: 'CANCELLED', actor: 'schedule:canceller' });
  });
});

describe('state', () => {
  it('records ticks of a paused or ended schedule as skipped, and a trigger runs anyway while paused', async () => {
    await create('pausable');
    await control.pause('pausable', 'tester');
    expect(await firing.fire('pausable', TICK)).toEqual({ kind: 'skipped', reason: 'paused: the schedule is paused' });
    expect((await control.trigger('pausable')).kind).toBe('created');
    await control.resume('pausable', 'tester');
    expect((await control.get('pausable')).schedule.paused).toBe(false);

    await create('ended', { endAt: '2027-01-01T00:00:00Z' });
    expect(await firing.fire('ended', TICK)).toEqual({ kind: 'skipped', reason: 'ended: the schedule ended' });
  });

  it('deleting a schedule keeps its tasks', async () => {
    await create('doomed');
    const created = await firing.fire('doomed', TICK);
    if (created.kind !== 'created') throw new Error(created.kind);
    await control.delete('doomed');
    await expect(control.get('doomed')).rejects.toMatchObject({ code: 'schedule-not-found' });
    expect((await store.get(created.task.id)).scheduleName).toBe('doomed');
  });

  it('refuses a schedule whose task POST /tasks would refuse, with the same message, and writes nothing', async () => {
    await expect(control.create({ name: 'bad-type', every: '1m', task: { type: 'nope' } }, 't')).rejects.toMatchObject({
      code: 'unknown-type',
    });
    await expect(
      control.create({ name: 'bad-payload', every: '1m', task: { type: 'sleep', payload: { ms: 'x' } } }, 't'),
    ).rejects.toMatchObject({
      code: 'invalid-request',
      message: expect.stringMatching(/^task\.payload\.ms: /),
    });
    await expect(control.create({ name: 'bad-every', every: '30s', task: { type: 'echo' } }, 't')).rejects.toMatchObject({
      code: 'invalid-schedule',
    });
    await expect(create('twice')).rejects.toMatchObject({ code: 'schedule-exists' });
    expect((await tableItems(resources.tableName)).filter((i) => String(i.id).startsWith('bad-'))).toHaveLength(0);
  });
});

describe('Scheduler sync and repair', () => {
  const held = (name: string) => scheduler.send(new GetScheduleCommand({ GroupName: resources.scheduleGroup, Name: name }));

  it('creates, updates, disables and deletes the Scheduler schedule from the item', async () => {
    const { schedule } = await create('synced', { timezone: 'Europe/Berlin' });
    expect(await sync.apply('synced', schedule)).toBe('created');
    expect(await held('synced')).toMatchObject({
      ScheduleExpression: 'cron(0 9 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: {
        Arn: 'arn:aws:lambda:us-east-1:000000000000:function:fire',
        Input: expect.stringContaining('<aws.scheduler.scheduled-time>'),
      },
    });
    const paused = await control.pause('synced', 'tester');
    expect(await sync.apply('synced', paused.schedule)).toBe('updated');
    expect((await held('synced')).State).toBe('DISABLED');
    const changed = await control.patch('synced', { every: '15m' }, 'tester');
    await sync.apply('synced', changed.schedule);
    expect(await held('synced')).toMatchObject({ ScheduleExpression: 'rate(15 minutes)', StartDate: expect.any(Date) });
    expect(await sync.apply('synced', undefined)).toBe('deleted');
    await expect(held('synced')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await sync.apply('synced', undefined)).toBe('unchanged');
  });

  it('repairs what the stream missed: a missing schedule, a stale one, an orphan', async () => {
    const later = Date.now() + SYNC_GRACE_MS + 60_000;
    const { schedule: missing } = await create('repair-missing');
    const { schedule: stale } = await create('repair-stale');
    await sync.apply('repair-stale', stale);
    const changed = await control.pause('repair-stale', 'tester'); // the stream "lost" this change
    await sync.apply('repair-orphan', { ...missing, name: 'repair-orphan' }); // its item never existed
    const report = await sync.repair(async () => [missing, changed.schedule], later);
    expect(report).toEqual({ created: 1, updated: 1, deleted: 1 });
    expect((await held('repair-missing')).State).toBe('ENABLED');
    expect((await held('repair-stale')).State).toBe('DISABLED');
    const names = (await scheduler.send(new ListSchedulesCommand({ GroupName: resources.scheduleGroup }))).Schedules?.map((s) => s.Name);
    expect(names).not.toContain('repair-orphan');
    // Nothing left to repair, and changes younger than the grace period are left to the stream.
    expect(await sync.repair(async () => [missing, changed.schedule], later)).toEqual({ created: 0, updated: 0, deleted: 0 });
    const { schedule: young } = await create('repair-young');
    expect(await sync.repair(async () => [missing, changed.schedule, young])).toEqual({ created: 0, updated: 0, deleted: 0 });
  });
});
