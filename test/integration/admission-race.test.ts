/**
 * Admission and release of one limit side by side, against the emulator: what two dispatcher
 * invocations do at once on AWS when a task's admission and its holder's release are in different
 * stream shards. Each round, a holder's release and a newcomer's admission run together, offset
 * by a few milliseconds either way. Whatever the interleaving, the newcomer ends up running or
 * on its way (admitted, sent with its slot, or woken), holding the one slot — never parked beside
 * a free slot with nobody left to wake it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, type AdmissionResult, type HandOn, LimitCatalog } from '#core/admission.ts';
import { dynamo } from '#core/clients.ts';
import type { Dispatch } from '#core/dispatch.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { LimitStore } from '#core/limit-store.ts';
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
const settings = { tenantConcurrency: 0, tenantLaneSharePercent: 80 };

beforeAll(async () => {
  ({ resources, store } = await storesForTest('admission-race'));
  limits = new LimitStore(dynamo(), resources.tableName);
  const catalog = new LimitCatalog(limits, 0);
  submitter = new TaskSubmitter(store, new IdempotencyStore(dynamo(), resources.tableName), taskRegistry, false, catalog);
  const handOn: HandOn = async (dispatches) => {
    sent.push(...dispatches);
    return dispatches.map(() => true);
  };
  admission = new Admission(limits, store, catalog, settings, handOn);
});
afterAll(() => resources.cleanup());

const later = <T>(ms: number, work: () => Promise<T>): Promise<T> =>
  new Promise((resolve, reject) => setTimeout(() => work().then(resolve, reject), ms));

// Offsets of the release against the admission (ms; negative: the release starts first).
const OFFSETS = [-12, -8, -6, -4, -3, -2, -1, 0, 0, 0, 1, 2, 3, 4, 6, 8, 12];

describe('a release and an admission of one limit at the same time', () => {
  it('never leaves the newcomer waiting beside the free slot', async () => {
    const stranded: { round: number; offset: number; result: AdmissionResult['kind'] }[] = [];
    for (const [round, offset] of [...OFFSETS, ...OFFSETS].entries()) {
      const key = `race-${round}`;
      await limits.putDefinition({ scope: 'key', key, concurrency: 1, updatedAt: Date.now(), updatedBy: 'tester' });
      const holder = (await submitter.submit({ type: 'echo', concurrencyKey: key }, { actor: 'tester' })).value;
      expect((await admission.admit(holder)).kind).toBe('admitted');
      const newcomer = (await submitter.submit({ type: 'echo', concurrencyKey: key }, { actor: 'tester' })).value;
      const ended = { ...(await store.get(holder.id)), status: 'SUCCEEDED' as const };
      const [result] = await Promise.all([
        later(Math.max(0, offset), () => admission.admit(newcomer)),
        later(Math.max(0, -offset), () => admission.release(ended)),
      ]);
      const now = await store.get(newcomer.id);
      const onItsWay =
        result.kind === 'admitted' || sent.some((d) => d.message.id === newcomer.id) || (now.waitingFor === undefined && now.version > 1);
      const state = await limits.state(`key#${key}`);
      if (!onItsWay || state.holders.map((h) => h.taskId).join() !== newcomer.id) stranded.push({ round, offset, result: result.kind });
    }
    expect(stranded).toEqual([]);
  });
});
