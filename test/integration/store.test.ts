import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaleVersion } from '#core/errors.ts';
import { decodeEvent, HISTORY_CAP } from '#core/history.ts';
import type { TaskStore } from '#core/store.ts';
import type { TaskSubmitter } from '#core/submission.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';

let resources: TestResources;
let store: TaskStore;
let submitter: TaskSubmitter;

beforeAll(async () => {
  ({ resources, store, submitter } = await storesForTest('store', 3));
});
afterAll(() => resources.cleanup());

const submit = async (body: object = { type: 'echo', payload: { n: 1 } }) => (await submitter.submit(body, { actor: 'tester' })).value;

describe('TaskStore', () => {
  it('stores a submitted task as QUEUED at version 1 with its first history entry', async () => {
    const task = await submit();
    const stored = await store.get(task.id);
    expect(stored).toMatchObject({ status: 'QUEUED', version: 1, attempt: 0, payload: '{"n":1}' });
    expect(await store.events(task.id)).toEqual([expect.objectContaining({ from: null, to: 'QUEUED', reason: 'submit', actor: 'tester' })]);
  });

  it('starts a task once per version: a duplicate or stale message gets nothing', async () => {
    const task = await submit();
    const started = (await store.start({ id: task.id, v: 1, a: 1 }, 'system')).started;
    expect(started).toMatchObject({ status: 'RUNNING', version: 2, attempt: 1 });
    expect(started?.startedAt).toBeTypeOf('number');
    expect((await store.start({ id: task.id, v: 1, a: 1 }, 'system')).started).toBeUndefined();
    expect((await store.get(task.id)).version).toBe(2);
  });

  it('lets exactly one of several simultaneous starts of one version win (conditional writes are atomic)', async () => {
    for (let round = 0; round < 40; round++) {
      const task = (await submitter.submit({ type: 'echo' }, { actor: 'u' })).value;
      const claims = await Promise.all([0, 1, 2].map(() => store.start({ id: task.id, v: 1, a: 1 }, 'system')));
      expect(claims.filter((c) => c.started)).toHaveLength(1);
    }
  });

  it('never lets a read see half a write: a task read beside its start is either queued or started, whole', async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 200; round++) {
      const task = (await submitter.submit({ type: 'echo', payload: { pad: 'x'.repeat(3000) } }, { actor: 'u' })).value;
      let started = false;
      // Readers keep reading until the start has answered, so some reads meet it in the emulator.
      const reader = async () => {
        while (!started) {
          const r = await store.get(task.id);
          seen.add(`${r.status} v${r.version} ${r.history.length} entries`);
        }
      };
      const readers = Array.from({ length: 8 }, reader);
      await store.start({ id: task.id, v: 1, a: 1 }, 'system').finally(() => {
        started = true;
      });
      await Promise.all(readers);
    }
    // A torn read (the version bumped, the status not yet written) lets a control decided on it
    // overwrite the running attempt, which the exclusive start must rule out.
    expect([...seen].filter((s) => s !== 'QUEUED v1 1 entries' && s !== 'RUNNING v2 2 entries')).toEqual([]);
  });

  it('refuses a transition written against an old version, reporting the current item', async () => {
    const task = await submit();
    const started = (await store.start({ id: task.id, v: 1, a: 1 }, 'system')).started;
    if (!started) throw new Error('not started');
    await store.transition(started, { action: 'succeed', reason: 'completed', actor: 'system', set: { result: '1' } });
    const attempt = store.transition(started, { action: 'fail', reason: 'x', actor: 'system' });
    await expect(attempt).rejects.toBeInstanceOf(StaleVersion);
    await expect(attempt).rejects.toMatchObject({ current: { status: 'SUCCEEDED', version: 3 } });
  });

  it('appends one history entry per transition, in order', async () => {
    const task = await submit();
    const started = (await store.start({ id: task.id, v: 1, a: 1 }, 'system')).started;
    if (!started) throw new Error('not started');
    await store.transition(started, { action: 'succeed', reason: 'completed', actor: 'system', set: { result: '1' } });
    const events = await store.events(task.id);
    expect(events.map((e) => `${e.from}>${e.to}`)).toEqual(['null>QUEUED', 'QUEUED>RUNNING', 'RUNNING>SUCCEEDED']);
    expect(events.map((e) => e.attempt)).toEqual([0, 1, 1]);
  });

  it('keeps large payloads and results out of the state item', async () => {
    const big = { blob: 'x'.repeat(5000) };
    const task = await submit({ type: 'echo', payload: big });
    const raw = await store.get(task.id);
    expect(raw.payload).toBeUndefined();
    expect(raw.payloadRef).toBe(true);
    expect(JSON.parse((await store.resolve(raw)).payload ?? '')).toEqual(big);
    const started = (await store.start({ id: task.id, v: 1, a: 1 }, 'system')).started;
    if (!started) throw new Error('not started');
    const done = await store.transition(started, {
      action: 'succeed',
      reason: 'completed',
      actor: 'system',
      set: { result: JSON.stringify(big) },
    });
    expect(done.result).toBeUndefined();
    expect(JSON.parse((await store.resolve(done)).result ?? '')).toEqual(big);
  });

  it('returns progress writes with the item, without changing the version', async () => {
    const task = await submit();
    const started = (await store.start({ id: task.id, v: 1, a: 1 }, 'system')).started;
    if (!started) throw new Error('not started');
    const after = await store.touch(task.id, 2, { progress: { percent: 40, message: 'going', updatedAt: 1 }, checkpoint: '{"step":2}' });
    expect(after).toMatchObject({ version: 2, progress: { percent: 40, message: 'going' }, checkpoint: '{"step":2}' });
    await expect(store.touch(task.id, 1, { progress: { percent: 50, updatedAt: 2 } })).rejects.toBeInstanceOf(StaleVersion);
  });

  it('labels an entry out of RUNNING with the attempt that ran, also when the attempt is given back', async () => {
    let task = await store.get((await submit()).id);
    const attempts: number[][] = [];
    for (const reason of ['lease-lost', 'paused']) {
      const started = (await store.start({ id: task.id, v: task.version, a: task.attempt + 1 }, 'system')).started;
      if (!started) throw new Error('not started');
      // Both give attempt 1 back: the next start is attempt 1 again.
      task = await store.transition(started, {
        action: reason === 'paused' ? 'yield' : 'requeue',
        reason,
        actor: 'system',
        set: { attempt: started.attempt - 1 },
      });
      expect(task.attempt).toBe(0);
      attempts.push(task.history.slice(-2).map((h) => decodeEvent(h).attempt));
    }
    expect(attempts).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });

  it(`caps the history at ${HISTORY_CAP} entries and counts what it dropped`, async () => {
    let task = await store.get((await submit()).id);
    for (let i = 0; i < HISTORY_CAP + 5; i++) {
      const started = (await store.start({ id: task.id, v: task.version, a: task.attempt + 1 }, 'system')).started;
      if (!started) throw new Error('not started');
      task = await store.transition(started, { action: 'yield', reason: 'paused', actor: 'system', set: { attempt: started.attempt - 1 } });
      task = await store.transition(task, { action: 'resume', reason: 'resumed', actor: 'tester' });
    }
    expect(task.history).toHaveLength(HISTORY_CAP);
    expect(task.historyDropped).toBe(1 + 3 * (HISTORY_CAP + 5) - HISTORY_CAP);
  });

  it('lists newest first across shards, pages with a cursor, and filters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await submit({ type: 'echo', payload: { i }, priority: i % 2 ? 'low' : 'high' })).id);
    const first = await store.list({ limit: 4 });
    const second = await store.list({ limit: 4, cursor: first.cursor ?? undefined });
    const listed = [...first.items, ...second.items].map((t) => t.id);
    const mine = listed.filter((id) => ids.includes(id));
    expect(mine.slice(0, 7)).toEqual([...ids].reverse().slice(0, mine.length));
    expect(new Set(listed).size).toBe(listed.length);
    const lows = await store.list({ limit: 100, priority: 'low' });
    expect(lows.items.every((t) => t.priority === 'low')).toBe(true);
    expect(lows.items.map((t) => t.id)).toEqual(expect.arrayContaining(ids.filter((_, i) => i % 2)));
  });
});
