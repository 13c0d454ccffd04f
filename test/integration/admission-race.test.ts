/**
 * Admission and release of one limit side by side, against the emulator: what two dispatcher
 * invocations do at once on AWS when a task's admission and its holder's release are in different
 * stream shards. Each round, a holder's release and a newcomer's admission run together, offset
 * by a few milliseconds either way. Whatever the interleaving, the newcomer ends up running or
 * on its way (admitted, sent with its slot, or woken), holding the one slot — never parked beside
 * a free slot with nobody left to wake it.
 *
 * Offsets alone rarely reach the two windows the second looks close (a release reads the waiters
 * and frees the slot one round trip apart), so each is also forced: one side is held at its step
 * by a LimitStore that waits there (the real store underneath, against the emulator) while the
 * other side runs whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, type AdmissionResult, type HandOn, LimitCatalog } from '#core/admission.ts';
import { dynamo } from '#core/clients.ts';
import type { Dispatch } from '#core/dispatch.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { LimitStore } from '#core/limit-store.ts';
import type { TaskRecord } from '#core/model.ts';
import type { TaskStore } from '#core/store.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { taskRegistry } from '#tasks/index.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';

let resources: TestResources;
let store: TaskStore;
let limits: LimitStore;
let submitter: TaskSubmitter;
const sent: Dispatch[] = [];
let admission: Admission;
let catalog: LimitCatalog;
let handOn: HandOn;
const settings = { tenantConcurrency: 0, tenantLaneSharePercent: 80 };

/** A point one side waits at until the test opens it; `reached` settles when that side gets there. */
function gate() {
  let arrive = () => {};
  let open = () => {};
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const pass = () => {
    arrive();
    return opened;
  };
  return { reached, open, pass };
}

/**
 * An admission whose store (the real one, against the emulator) waits at the start of `step` until
 * the test opens it: `release` (the releaser has looked for waiters and found none) or `parkMany`
 * (admission has found the limit full and not yet parked).
 */
function heldAt(step: 'release' | 'parkMany'): { held: Admission; at: ReturnType<typeof gate> } {
  const at = gate();
  const limitStore = new LimitStore(dynamo(), resources.tableName);
  const real = limitStore[step].bind(limitStore) as (...args: unknown[]) => Promise<never>;
  const waiting = async (...args: unknown[]) => {
    await at.pass();
    return real(...args);
  };
  Object.assign(limitStore, { [step]: waiting });
  return { held: new Admission(limitStore, store, catalog, settings, handOn), at };
}

beforeAll(async () => {
  ({ resources, store } = await storesForTest('admission-race'));
  limits = new LimitStore(dynamo(), resources.tableName);
  catalog = new LimitCatalog(limits, 0);
  submitter = new TaskSubmitter(store, new IdempotencyStore(dynamo(), resources.tableName), taskRegistry, false, catalog);
  handOn = async (dispatches) => {
    sent.push(...dispatches);
    return dispatches.map(() => true);
  };
  admission = new Admission(limits, store, catalog, settings, handOn);
});
afterAll(() => resources.cleanup());

const later = <T>(ms: number, work: () => Promise<T>): Promise<T> =>
  new Promise((resolve, reject) => setTimeout(() => work().then(resolve, reject), ms));

/** A limit of one on a fresh key, its holder admitted, a newcomer submitted, and the holder as it ends. */
async function holderAndNewcomer(key: string): Promise<{ newcomer: TaskRecord; ended: TaskRecord }> {
  await limits.putDefinition({ scope: 'key', key, concurrency: 1, updatedAt: Date.now(), updatedBy: 'tester' });
  const holder = (await submitter.submit({ type: 'echo', concurrencyKey: key }, { actor: 'tester' })).value;
  expect((await admission.admit(holder)).kind).toBe('admitted');
  const newcomer = (await submitter.submit({ type: 'echo', concurrencyKey: key }, { actor: 'tester' })).value;
  return { newcomer, ended: { ...(await store.get(holder.id)), status: 'SUCCEEDED' as const } };
}

/** Whether the newcomer holds the limit's one slot and is running or on its way (admitted, sent with it, or woken). */
async function onItsWayWithTheSlot(newcomer: TaskRecord, key: string, result: AdmissionResult): Promise<boolean> {
  const now = await store.get(newcomer.id);
  const onItsWay =
    result.kind === 'admitted' || sent.some((d) => d.message.id === newcomer.id) || (now.waitingFor === undefined && now.version > 1);
  const state = await limits.state(`key#${key}`);
  return onItsWay && state.holders.map((h) => h.taskId).join() === newcomer.id;
}

// Offsets of the release against the admission (ms; negative: the release starts first).
const OFFSETS = [-12, -8, -6, -4, -3, -2, -1, 0, 0, 0, 1, 2, 3, 4, 6, 8, 12];

describe('a release and an admission of one limit at the same time', () => {
  it('never leaves the newcomer waiting beside the free slot', async () => {
    const stranded: { round: number; offset: number; result: AdmissionResult['kind'] }[] = [];
    for (const [round, offset] of [...OFFSETS, ...OFFSETS].entries()) {
      const key = `race-${round}`;
      const { newcomer, ended } = await holderAndNewcomer(key);
      const [result] = await Promise.all([
        later(Math.max(0, offset), () => admission.admit(newcomer)),
        later(Math.max(0, -offset), () => admission.release(ended)),
      ]);
      if (!(await onItsWayWithTheSlot(newcomer, key, result))) stranded.push({ round, offset, result: result.kind });
    }
    expect(stranded).toEqual([]);
  });

  it("the release's second look: a newcomer parks whole between the releaser's look for waiters and its freeing the slot", async () => {
    const key = 'forced-release';
    const { newcomer, ended } = await holderAndNewcomer(key);
    const { held, at: beforeFreeing } = heldAt('release');
    const releasing = held.release(ended);
    await beforeFreeing.reached;
    // The slot is still held: the newcomer parks, and its own second look finds the limit full.
    const result = await admission.admit(newcomer);
    expect(result.kind).toBe('parked');
    beforeFreeing.open();
    await releasing;
    expect(await onItsWayWithTheSlot(newcomer, key, result)).toBe(true);
  });

  it("admission's second look: the holder's release runs whole between the newcomer finding the limit full and its parking", async () => {
    const key = 'forced-admission';
    const { newcomer, ended } = await holderAndNewcomer(key);
    const { held, at: beforeParking } = heldAt('parkMany');
    const admitting = held.admit(newcomer);
    await beforeParking.reached;
    // Nobody waits yet: the release frees the slot, and its own second look finds no waiter.
    await admission.release(ended);
    expect((await limits.state(`key#${key}`)).holders).toEqual([]);
    beforeParking.open();
    const result = await admitting;
    expect(await onItsWayWithTheSlot(newcomer, key, result)).toBe(true);
  });
});
