/**
 * Admission of a batch submission at intake, against the emulator: the free slots of a limit the
 * batch's tasks share are taken for the first of them in one write, the rest are born waiting
 * (waiter items first, oldest first), the last of them asks the dispatcher to fill, and that fill
 * wakes the oldest waiters once slots are free — also after a holder gave its slot back before
 * the waiters existed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Admission, BatchAdmission, type HandOn, LimitCatalog } from '#core/admission.ts';
import { dynamo } from '#core/clients.ts';
import { TaskControl } from '#core/control.ts';
import { type Dispatch, parseMessage } from '#core/dispatch.ts';
import { admitDispatches, planDispatches, releaseSlots } from '#core/dispatching.ts';
import { decodeEvent } from '#core/history.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { LimitStore, waiterSortKey } from '#core/limit-store.ts';
import type { TaskRecord } from '#core/model.ts';
import type { TaskStore } from '#core/store.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { fairShare } from '#core/tenancy.ts';
import { taskRegistry } from '#tasks/index.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';
import { refusingOnce } from '../support/refusing-store.ts';

let resources: TestResources;
let store: TaskStore;
let limits: LimitStore;
let submitter: TaskSubmitter;
let admission: Admission;
let catalog: LimitCatalog;
const settings = { tenantConcurrency: 0, tenantLaneSharePercent: 80 };

beforeAll(async () => {
  ({ resources, store } = await storesForTest('batch-admission'));
  limits = new LimitStore(dynamo(), resources.tableName);
  catalog = new LimitCatalog(limits, 0);
  submitter = new TaskSubmitter(
    store,
    new IdempotencyStore(dynamo(), resources.tableName),
    taskRegistry,
    false,
    catalog,
    new BatchAdmission(limits, catalog, settings),
  );
  admission = new Admission(limits, store, catalog, settings);
});
afterAll(() => resources.cleanup());

const setLimit = (tenant: string, concurrency: number) =>
  limits.putDefinition({ scope: 'tenant', key: tenant, concurrency, updatedAt: Date.now(), updatedBy: 'tester' });
const submitBatch = async (tenant: string, n: number) =>
  (await submitter.submitBatch({ tasks: Array.from({ length: n }, () => ({ type: 'echo', tenant })) }, { actor: 'tester' })).value;
const reasons = (t: TaskRecord) => t.history.map((h) => decodeEvent(h).reason);

describe('a batch submission sharing a limit', () => {
  it('takes the free slots for its first tasks in one go and parks the rest, the last of them asking for a fill', async () => {
    await setLimit('acme', 2);
    const tasks = await submitBatch('acme', 5);
    expect(tasks.map((t) => t.waitingFor ?? null)).toEqual([
      null,
      null,
      { scope: 'tenant', key: 'acme' },
      { scope: 'tenant', key: 'acme' },
      { scope: 'tenant', key: 'acme', fill: true },
    ]);
    const state = await limits.state('tenant#acme');
    expect(state.running).toBe(2);
    expect(state.holders.map((h) => h.taskId).sort()).toEqual([tasks[0].id, tasks[1].id].sort());
    // Oldest first (tasks of one batch are equally old: their ids order them).
    expect((await limits.oldestWaiters('tenant#acme', 10)).map((w) => w.taskId)).toEqual(
      tasks
        .slice(2)
        .map((t) => t.id)
        .sort(),
    );
    expect(reasons(tasks[2])).toEqual(['submit', 'waiting-for-slot: tenant acme (limit 2)']);
    // Stored as answered.
    expect((await store.get(tasks[4].id)).waitingFor).toEqual({ scope: 'tenant', key: 'acme', fill: true });
    // The first two go through the dispatcher's admission as usual: they hold their slots already,
    // also when a batch before them found the limit full (with them among its holders).
    const singles = await Promise.all(
      Array.from({ length: 10 }, async () => (await submitter.submit({ type: 'echo', tenant: 'acme' }, { actor: 'tester' })).value),
    );
    const results = await admission.admitAll([...singles, await store.get(tasks[0].id), await store.get(tasks[1].id)]);
    expect(singles.map((t) => results.get(t.id)?.kind)).toEqual(Array(10).fill('parked'));
    expect([results.get(tasks[0].id)?.kind, results.get(tasks[1].id)?.kind]).toEqual(['admitted', 'admitted']);
    expect((await limits.state('tenant#acme')).running).toBe(2);
  });

  it('parks every task of a batch when the limit is full, and the fill wakes the oldest once slots are free', async () => {
    await setLimit('full', 2);
    const first = await submitBatch('full', 2);
    expect(first.every((t) => t.waitingFor === undefined)).toBe(true);
    const second = await submitBatch('full', 4);
    expect(second.every((t) => t.waitingFor?.key === 'full')).toBe(true);
    // Nothing free: the fill wakes nobody.
    await admission.fillFor(second[3]);
    expect((await store.get(second[0].id)).waitingFor).toBeDefined();
    // The holders gave their slots back before the waiters existed (nobody to hand them to).
    for (const t of first) await limits.release('tenant#full', t.id);
    const oldest = (await limits.oldestWaiters('tenant#full', 2)).map((w) => w.taskId);
    await admission.fillFor(await store.get(second[3].id));
    const after = await Promise.all(second.map((t) => store.get(t.id)));
    const woken = after.filter((t) => t.waitingFor === undefined);
    expect(woken.map((t) => t.id).sort()).toEqual(oldest.sort());
    expect(woken.map((t) => t.version)).toEqual([2, 2]);
    expect(reasons(woken[0]).at(-1)).toBe('slot-free: tenant full (limit 2)');
    expect((await limits.state('tenant#full')).holders.map((h) => h.taskId).sort()).toEqual(oldest.sort());
    expect(await limits.waiting('tenant#full')).toBe(2);
  });

  it('keeps a waiter item whose task is not written yet (a batch writes its waiters first), and wakes that task once it is', async () => {
    await setLimit('early', 1);
    const [task] = await submitBatch('early', 1);
    expect((await admission.admit(task)).kind).toBe('admitted');
    // A waiter item of a task still being written, at the head of the queue.
    const draft = submitter.draft({ type: 'echo', tenant: 'early' }, { actor: 'tester', now: Date.now() - 1000 });
    const sortKey = waiterSortKey('normal', draft.record.queuedAt as number, draft.record.id);
    await limits.parkMany('tenant#early', [{ sortKey, taskId: draft.record.id }]);
    // The holder ends: nobody can take its slot yet, and the early waiter item stays.
    await admission.release({ ...(await store.get(task.id)), status: 'SUCCEEDED' });
    expect((await limits.oldestWaiters('tenant#early', 5)).map((w) => w.taskId)).toEqual([draft.record.id]);
    // Its task is written (born waiting); the batch's fill wakes it.
    await store.createMany([{ ...draft, record: { ...draft.record, waitingFor: { scope: 'tenant', key: 'early', fill: true } } }]);
    await admission.fillFor(await store.get(draft.record.id));
    expect((await store.get(draft.record.id)).waitingFor).toBeUndefined();
    expect((await limits.state('tenant#early')).holders.map((h) => h.taskId)).toEqual([draft.record.id]);
  });

  it('hands the slots of several releasers to as many oldest waiters in one go', async () => {
    await setLimit('many', 3);
    const tasks = await submitBatch('many', 8);
    const holders = tasks.filter((t) => t.waitingFor === undefined);
    expect(holders).toHaveLength(3);
    const oldest = (await limits.oldestWaiters('tenant#many', 3)).map((w) => w.taskId);
    await admission.releaseAll(holders.map((t) => ({ ...t, status: 'SUCCEEDED' as const })));
    const state = await limits.state('tenant#many');
    expect(state.holders.map((h) => h.taskId).sort()).toEqual([...oldest].sort());
    const woken = await Promise.all(oldest.map((id) => store.get(id)));
    expect(woken.map((t) => [t.waitingFor, t.version])).toEqual(oldest.map(() => [undefined, 2]));
    expect(reasons(woken[0]).at(-1)).toBe('slot-free: tenant many (limit 3)');
    expect(await limits.waiting('tenant#many')).toBe(2);
    // Released again (a retried stream batch): nothing moves.
    await admission.releaseAll(holders.map((t) => ({ ...t, status: 'SUCCEEDED' as const })));
    expect((await limits.state('tenant#many')).running).toBe(3);
    expect(await limits.waiting('tenant#many')).toBe(2);
  });

  it('leaves a batch whose tasks share no limit, and a limit only one of them uses, to the dispatcher', async () => {
    await setLimit('one', 1);
    const plain = (await submitter.submitBatch({ tasks: [{ type: 'echo' }, { type: 'echo' }] }, { actor: 'tester' })).value;
    expect(plain.every((t) => t.waitingFor === undefined && !t.limited)).toBe(true);
    const mixed = (await submitter.submitBatch({ tasks: [{ type: 'echo', tenant: 'one' }, { type: 'echo' }] }, { actor: 'tester' })).value;
    expect(mixed[0].limited).toBe(true);
    expect(mixed[0].waitingFor).toBeUndefined();
    expect((await limits.state('tenant#one')).running).toBe(0);
  });

  it('admits a waiting task afresh when it gets a new version some other way (no stale waitingFor)', async () => {
    await setLimit('moved', 1);
    const [, waiting] = await submitBatch('moved', 2);
    expect(waiting.waitingFor).toBeDefined();
    const control = new TaskControl(store);
    const paused = await control.apply(waiting.id, { action: 'pause' }, 'tester');
    expect(paused.waitingFor).toBeUndefined();
    expect((await store.get(waiting.id)).waitingFor).toBeUndefined();
  });

  it('admits the tasks that hold their slots already (taken at intake) with one read of the limit, not a take each', async () => {
    await setLimit('held', 3);
    const tasks = await submitBatch('held', 3);
    expect(tasks.every((t) => t.waitingFor === undefined)).toBe(true);
    const takes = vi.spyOn(limits, 'take');
    const reads = vi.spyOn(limits, 'state');
    try {
      const results = await admission.admitAll(tasks);
      expect(tasks.map((t) => results.get(t.id)?.kind)).toEqual(['admitted', 'admitted', 'admitted']);
      expect(takes).not.toHaveBeenCalled();
      // One read for each limit they share: the tenant's own, and its share of the lane.
      expect(reads.mock.calls.map(([id]) => id).sort()).toEqual(['lane#normal#held', 'tenant#held']);
      // A task of the limit that holds nothing still takes its slot (and is parked: the limit is full).
      const [late] = await submitBatch('held', 1);
      expect((await admission.admitAll([late])).get(late.id)?.kind).toBe('parked');
      expect(takes).toHaveBeenCalled();
    } finally {
      takes.mockRestore();
      reads.mockRestore();
    }
    expect((await limits.state('tenant#held')).running).toBe(3);
  });

  it('wakes a waiter handed a slot by a dispatcher that stopped before its wake-up, when the release is retried', async () => {
    await setLimit('stopped', 1);
    const [holder, ...parked] = await submitBatch('stopped', 3);
    // Oldest first: tasks of one batch are equally old, so their ids order them (not the batch's order).
    const [waiter, later] = [...parked].sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(waiter.waitingFor).toBeDefined();
    // A dispatcher handed the holder's slot to the oldest waiter, then stopped before waking it.
    expect(await limits.handOver('tenant#stopped', holder.id, waiter.id, Date.now())).toBe(true);
    // The stream retries the holder's release: it holds nothing now, and the waiter still waits.
    await admission.release({ ...(await store.get(holder.id)), status: 'SUCCEEDED' });
    const woken = await store.get(waiter.id);
    expect(woken.waitingFor).toBeUndefined();
    expect(woken.version).toBe(waiter.version + 1);
    expect(reasons(woken).at(-1)).toBe('slot-free: tenant stopped (limit 1)');
    expect((await limits.state('tenant#stopped')).holders.map((h) => h.taskId)).toEqual([waiter.id]);
    // The next waiter still waits, oldest first, and nothing else was set going.
    expect((await limits.oldestWaiters('tenant#stopped', 10)).map((w) => w.taskId)).toEqual([later.id]);
    expect((await store.get(later.id)).waitingFor).toBeDefined();
  });

  it('keeps a waiter findable when its wake-up write is refused, and the retried release wakes it', async () => {
    await setLimit('wobbly', 1);
    const [holder, waiter] = await submitBatch('wobbly', 2);
    expect(waiter.waitingFor).toBeDefined();
    const throttled = refusingOnce(store, 'slot-free');
    const ended = { ...(await store.get(holder.id)), status: 'SUCCEEDED' as const };
    const releasing = new Admission(limits, throttled.store, catalog, settings);
    // The release fails as a message not sent does, and the stream retries it.
    await expect(releasing.release(ended)).rejects.toThrow('Throughput exceeds');
    expect(throttled.refused()).toBe(true);
    expect((await store.get(waiter.id)).waitingFor).toBeDefined();
    expect((await limits.oldestWaiters('tenant#wobbly', 10)).map((w) => w.taskId)).toEqual([waiter.id]);
    await releasing.release(ended);
    // Its waiter item was not removed beside the refused write: the retried release found it.
    const woken = await store.get(waiter.id);
    expect(woken.waitingFor).toBeUndefined();
    expect(reasons(woken).at(-1)).toBe('slot-free: tenant wobbly (limit 1)');
    expect((await limits.state('tenant#wobbly')).holders.map((h) => h.taskId)).toEqual([waiter.id]);
    expect(await limits.oldestWaiters('tenant#wobbly', 10)).toEqual([]);
  });

  it('parks a task whose waiting-for-slot write was refused when the stream retries, rather than dropping it', async () => {
    await setLimit('refused', 1);
    const holder = (await submitter.submit({ type: 'echo', tenant: 'refused' }, { actor: 'tester' })).value;
    expect((await admission.admit(holder)).kind).toBe('admitted');
    const newcomer = (await submitter.submit({ type: 'echo', tenant: 'refused' }, { actor: 'tester' })).value;
    const throttled = refusingOnce(store, 'waiting-for-slot');
    const admitting = new Admission(limits, throttled.store, catalog, settings);
    // Taken for "moved on", it was neither sent nor parked: QUEUED with nothing to run or wake it.
    await expect(admitting.admit(newcomer)).rejects.toThrow('Throughput exceeds');
    expect(throttled.refused()).toBe(true);
    expect(await admitting.admit(newcomer)).toMatchObject({ kind: 'parked' });
    expect((await store.get(newcomer.id)).waitingFor).toEqual({ scope: 'tenant', key: 'refused' });
    expect((await limits.oldestWaiters('tenant#refused', 10)).map((w) => w.taskId)).toEqual([newcomer.id]);
  });
});

describe('taking slots for a batch optimistically', () => {
  it('takes as many as fit after one failed write that reads the count, and none over the limit', async () => {
    const id = 'tenant#optimistic';
    for (const t of ['held-1', 'held-2', 'held-3']) expect((await limits.take(id, 45, t, Date.now())).kind).toBe('taken');
    const ids = Array.from({ length: 50 }, (_, n) => `task-${String(n).padStart(2, '0')}`);
    expect(await limits.takeMany(id, 45, ids, Date.now())).toBe(42);
    const state = await limits.state(id);
    expect(state.running).toBe(45);
    expect(state.holders.map((h) => h.taskId).sort()).toEqual(['held-1', 'held-2', 'held-3', ...ids.slice(0, 42)].sort());
    // Full: nothing more is taken, and a task holding a slot already is not counted twice.
    expect(await limits.takeMany(id, 45, ['late'], Date.now())).toBe(0);
    expect(await limits.takeMany(id, 46, [ids[0], 'late'], Date.now())).toBe(0);
    expect((await limits.state(id)).running).toBe(45);
  });

  it('admits a batch that fits its one shared limit with one write and no read of the limit', async () => {
    // No limit of its own: the tenant's share of the lane is the one limit its tasks share.
    const share = fairShare('normal', settings.tenantLaneSharePercent);
    const reads = vi.spyOn(limits, 'state');
    const takes = vi.spyOn(limits, 'takeMany');
    let tasks: TaskRecord[];
    try {
      tasks = await submitBatch('fits', 3);
      expect(reads).not.toHaveBeenCalled();
      expect(takes).toHaveBeenCalledTimes(1);
    } finally {
      reads.mockRestore();
      takes.mockRestore();
    }
    expect(tasks.every((t) => t.waitingFor === undefined)).toBe(true);
    expect((await limits.state('lane#normal#fits')).holders.map((h) => h.taskId).sort()).toEqual(tasks.map((t) => t.id).sort());
    // A second batch over the share: the free slots go to its first tasks, the rest wait on the share.
    const more = await submitBatch('fits', share);
    expect(more.filter((t) => t.waitingFor === undefined)).toHaveLength(share - 3);
    expect(more.slice(share - 3).map((t) => t.waitingFor?.scope)).toEqual(['lane', 'lane', 'lane']);
    expect(more.at(-1)?.waitingFor?.fill).toBe(true);
    expect((await limits.state('lane#normal#fits')).running).toBe(share);
  });
});

describe('a dispatcher handing a freed slot on', () => {
  // A key's limit alone (a tenant's tasks have their lane share too, and go through admission).
  const keyed = async (key: string) => {
    await limits.putDefinition({ scope: 'key', key, concurrency: 1, updatedAt: Date.now(), updatedBy: 'tester' });
    const tasks = Array.from({ length: 2 }, () => ({ type: 'echo', concurrencyKey: key }));
    return (await submitter.submitBatch({ tasks }, { actor: 'tester' })).value;
  };

  it('sends the oldest waiter its message instead of waking it, and its start ends the wait with the slot-free entry', async () => {
    const sent: Dispatch[] = [];
    const handOn: HandOn = async (dispatches) => {
      sent.push(...dispatches);
      return dispatches.map(() => true);
    };
    const dispatcher = new Admission(limits, store, new LimitCatalog(limits, 0), settings, handOn);
    const [holder, waiter] = await keyed('handon');
    expect(waiter.waitingFor?.key).toBe('handon');
    const ended = await store.get(holder.id);
    await dispatcher.release({ ...ended, status: 'SUCCEEDED' });
    // Handed over: the waiter holds the slot, its waiter item is gone, and no new version was written.
    expect((await limits.state('key#handon')).holders.map((h) => h.taskId)).toEqual([waiter.id]);
    expect(await limits.waiting('key#handon')).toBe(0);
    const stored = await store.get(waiter.id);
    expect(stored.version).toBe(waiter.version);
    expect(sent.map((d) => [d.message.id, d.message.v, d.message.h?.[0]])).toEqual([
      [waiter.id, waiter.version, 'slot-free: key handon (limit 1)'],
    ]);
    const { started } = await store.start(parseMessage(JSON.stringify(sent[0].message)), 'tester');
    expect(started?.status).toBe('RUNNING');
    expect(started?.waitingFor).toBeUndefined();
    expect(reasons(started as TaskRecord).slice(-2)).toEqual(['slot-free: key handon (limit 1)', 'start']);
  });

  it('leaves the waiter findable, holding its slot, when its message could not be sent', async () => {
    const dispatcher = new Admission(limits, store, new LimitCatalog(limits, 0), settings, async (d) => d.map(() => false));
    const [holder, waiter] = await keyed('handon-down');
    await expect(dispatcher.release({ ...(await store.get(holder.id)), status: 'SUCCEEDED' })).rejects.toThrow(/not sent/);
    expect((await limits.state('key#handon-down')).holders.map((h) => h.taskId)).toEqual([waiter.id]);
    expect(await limits.waiting('key#handon-down')).toBe(1);
    // The stream retries the release: it finds the waiter holding its slot and wakes it with a write.
    await admission.release({ ...(await store.get(holder.id)), status: 'SUCCEEDED' });
    const woken = await store.get(waiter.id);
    expect(woken.waitingFor).toBeUndefined();
    expect(woken.version).toBe(waiter.version + 1);
  });
});

describe('a task a priority change moved to another lane', () => {
  const lowShare = (tenant: string) => `lane#low#${tenant}`;
  const highShare = (tenant: string) => `lane#high#${tenant}`;
  const holdersOf = async (id: string) => (await limits.state(id)).holders.map((h) => h.taskId);
  const admittedLow = async (tenant: string) => {
    const task = (await submitter.submit({ type: 'echo', tenant, priority: 'low' }, { actor: 'tester' })).value;
    expect((await admission.admit(task)).kind).toBe('admitted');
    expect(await holdersOf(lowShare(tenant))).toEqual([task.id]);
    return task;
  };

  it('gives back the share of the lane it started in when it ends, after moving while it ran', async () => {
    const task = await admittedLow('mover-running');
    const { started } = await store.start({ id: task.id, v: task.version, a: 1 }, 'tester');
    expect(started?.status).toBe('RUNNING');
    // A running task's priority changes without a new version: it runs on in the low lane. Twice,
    // with a note written on the running task between the moves.
    const control = new TaskControl(store);
    await control.apply(task.id, { action: 'priority', priority: 'normal' }, 'tester');
    await control.apply(task.id, { action: 'pause' }, 'tester');
    const moved = await control.apply(task.id, { action: 'priority', priority: 'high' }, 'tester');
    expect([moved.status, moved.priority, moved.version]).toEqual(['RUNNING', 'high', started?.version]);
    expect(reasons(moved).slice(-3)).toEqual(['priority:low>normal', 'pause-requested', 'priority:normal>high']);
    await admission.release({ ...moved, status: 'SUCCEEDED' });
    // Before 0.11.7 only the high lane's share was given back, and the low lane's slot stayed taken.
    expect(await holdersOf(lowShare('mover-running'))).toEqual([]);
    expect(await holdersOf(highShare('mover-running'))).toEqual([]);
  });

  describe('with a fair share of one slot a lane', () => {
    // 1 % of a lane's capacity: one slot of the low lane's share, two of the high lane's.
    const tight = () => new Admission(limits, store, catalog, { tenantConcurrency: 0, tenantLaneSharePercent: 1 });
    const submitLow = async (tenant: string) =>
      (await submitter.submit({ type: 'echo', tenant, priority: 'low' }, { actor: 'tester' })).value;

    it('hands the slot of the lane a moved task started in to that lane’s waiter when it ends', async () => {
      expect(fairShare('low', 1)).toBe(1);
      const admitting = tight();
      const runner = await submitLow('tight-runner');
      expect((await admitting.admit(runner)).kind).toBe('admitted');
      const waiter = await submitLow('tight-runner');
      expect(await admitting.admit(waiter)).toMatchObject({ kind: 'parked' });
      await store.start({ id: runner.id, v: runner.version, a: 1 }, 'tester');
      const moved = await new TaskControl(store).apply(runner.id, { action: 'priority', priority: 'high' }, 'tester');
      await admitting.release({ ...moved, status: 'SUCCEEDED' });
      expect(await holdersOf(lowShare('tight-runner'))).toEqual([waiter.id]);
      const woken = await store.get(waiter.id);
      expect(woken.waitingFor).toBeUndefined();
      expect(reasons(woken).at(-1)).toBe('slot-free: lane low/tight-runner (limit 1)');
    });

    it('skips a waiter item its task no longer stands for: moved to another lane, it waits there', async () => {
      const admitting = tight();
      const holder = await submitLow('tight-stale');
      expect((await admitting.admit(holder)).kind).toBe('admitted');
      for (let i = 0; i < fairShare('high', 1); i++) {
        const highHolder = (await submitter.submit({ type: 'echo', tenant: 'tight-stale', priority: 'high' }, { actor: 'tester' })).value;
        expect((await admitting.admit(highHolder)).kind).toBe('admitted');
      }
      const moving = await submitLow('tight-stale');
      expect(await admitting.admit(moving)).toMatchObject({ kind: 'parked' });
      const staying = await submitLow('tight-stale');
      expect(await admitting.admit(staying)).toMatchObject({ kind: 'parked' });
      // Moved up while it waits: its new version waits for the high lane's share instead.
      const moved = await new TaskControl(store).apply(moving.id, { action: 'priority', priority: 'high' }, 'tester');
      expect(await admitting.admit(moved)).toMatchObject({ kind: 'parked' });
      expect((await store.get(moving.id)).waitingFor).toEqual({ scope: 'lane', key: 'high/tight-stale' });
      // The low lane's slot goes to the task that still waits for it, not to the older stale item.
      await admitting.release({ ...(await store.get(holder.id)), status: 'SUCCEEDED' });
      expect(await holdersOf(lowShare('tight-stale'))).toEqual([staying.id]);
      expect(await limits.waiting(lowShare('tight-stale'))).toBe(0);
      expect((await store.get(moving.id)).waitingFor).toEqual({ scope: 'lane', key: 'high/tight-stale' });
    });
  });

  it('gives back its former lane share when the dispatcher sees the queued task moved, and holds the new one', async () => {
    const task = await admittedLow('mover-queued');
    const moved = await new TaskControl(store).apply(task.id, { action: 'priority', priority: 'high' }, 'tester');
    expect([moved.status, moved.priority, moved.version]).toEqual(['QUEUED', 'high', task.version + 1]);
    const change = { sequence: '1', image: moved, previous: task };
    const planned = planDispatches([change], Date.now());
    const { send } = await admitDispatches(planned, new Map([[change.sequence, moved]]), admission, Date.now());
    expect(send.map((p) => [p.dispatch.lane, p.dispatch.message.v])).toEqual([['high', moved.version]]);
    expect(await releaseSlots([change], admission, Date.now())).toEqual({ failed: [], errors: [] });
    expect(await holdersOf(lowShare('mover-queued'))).toEqual([]);
    expect(await holdersOf(highShare('mover-queued'))).toEqual([task.id]);
    // And when it ends, every share it was in is free.
    await admission.release({ ...(await store.get(task.id)), status: 'SUCCEEDED' });
    expect(await holdersOf(highShare('mover-queued'))).toEqual([]);
  });
});
