/**
 * Property test of the state machine and the store together, against the emulator: random
 * interleavings of submit, start, progress, pause, resume, cancel, retry, reprioritise,
 * duplicate deliveries, worker crashes and sweeps. Whatever happens:
 * - every recorded transition is legal and versions only grow;
 * - no task completes twice within one attempt series;
 * - no task is lost: draining the system (delivering what is queued, finishing what runs,
 *   resuming what is paused, sweeping what is scheduled) brings every task to a terminal state.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimMessage } from '#core/claiming.ts';
import { type ControlRequest, TaskControl } from '#core/control.ts';
import { dispatchFor, type TaskMessage } from '#core/dispatch.ts';
import { InvalidTransition, StaleVersion } from '#core/errors.ts';
import { decodeEvent } from '#core/history.ts';
import { isTerminal, type TaskRecord } from '#core/model.ts';
import { type AttemptEnd, decideAfterAttempt } from '#core/retrying.ts';
import { LEGAL_EDGES } from '#core/state-machine.ts';
import type { TaskStore } from '#core/store.ts';
import type { TaskSubmitter } from '#core/submission.ts';
import { sweep } from '#core/sweeper.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';

let resources: TestResources;
let store: TaskStore;
let submitter: TaskSubmitter;
let control: TaskControl;
beforeAll(async () => {
  ({ resources, store, submitter } = await storesForTest('property'));
  control = new TaskControl(store);
});
afterAll(() => resources.cleanup());

/** What SQS and the workers hold: messages (delivered at least once) and attempts in flight. */
interface World {
  tasks: string[];
  inbox: { message: TaskMessage; deliveries: number }[];
  attempts: TaskRecord[];
  /** The model's clock: a tick passes the attempt lease, so every attempt still running is killed. */
  now: number;
}

const WORKER_TIMEOUT_MS = 900_000;
const LEASE_MS = 30_000;

const send = (world: World, record: TaskRecord | undefined) => {
  const dispatch = dispatchFor(record, Number.MAX_SAFE_INTEGER); // no delays in the model
  if (dispatch) world.inbox.push({ message: dispatch.message, deliveries: 0 });
};

type Command =
  | { kind: 'submit'; delayed: boolean }
  | { kind: 'deliver'; pick: number }
  | { kind: 'progress'; pick: number }
  | { kind: 'finish'; pick: number; end: 'ok' | 'error' | 'fatal' }
  | { kind: 'crash'; pick: number }
  | { kind: 'control'; pick: number; request: ControlRequest }
  | { kind: 'sweep' }
  | { kind: 'tick' };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), delayed: fc.boolean() }),
  fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('progress' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('finish' as const),
    pick: fc.nat(),
    end: fc.constantFrom('ok' as const, 'error' as const, 'fatal' as const),
  }),
  fc.record({ kind: fc.constant('crash' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('control' as const),
    pick: fc.nat(),
    request: fc.oneof(
      fc.constantFrom<ControlRequest>({ action: 'pause' }, { action: 'resume' }, { action: 'cancel' }, { action: 'retry' }),
      fc.record({
        action: fc.constant('priority' as const),
        priority: fc.constantFrom('critical' as const, 'high' as const, 'normal' as const, 'low' as const),
      }),
    ),
  }),
  fc.record({ kind: fc.constant('sweep' as const) }),
  fc.record({ kind: fc.constant('tick' as const) }),
);

async function deliver(world: World, index: number) {
  const entry = world.inbox[index];
  entry.deliveries += 1;
  const claim = await claimMessage(entry.message, store, 'system', {
    leaseMs: LEASE_MS,
    workerTimeoutMs: WORKER_TIMEOUT_MS,
    now: world.now,
  });
  if (claim.kind === 'started') world.attempts.push(claim.task);
  // Stale and recovered messages are deleted; held ones stay, and a started one stays until its attempt ends.
  if (claim.kind === 'stale' || claim.kind === 'recovered') world.inbox.splice(index, 1);
}

async function finish(world: World, index: number, end: AttemptEnd) {
  const [attempt] = world.attempts.splice(index, 1);
  const decision = decideAfterAttempt(attempt, end, Date.now(), { baseDelaySeconds: 0, maxDelaySeconds: 0 });
  try {
    send(world, await store.transition(attempt, { ...decision, actor: 'system' }));
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error; // superseded: someone else moved the task
  }
  // The batch succeeded: its message (if still held) is deleted.
  world.inbox = world.inbox.filter((m) => !(m.message.id === attempt.id && m.message.v === (attempt.claim ?? -1)));
}

async function progress(world: World, index: number) {
  const attempt = world.attempts[index];
  try {
    const latest = await store.touch(attempt.id, attempt.version, {
      progress: { percent: 50, updatedAt: Date.now() },
      checkpoint: '{"step":1}',
    });
    world.attempts[index] = latest;
    if (latest.control) await finish(world, index, { kind: 'interrupted', control: latest.control });
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error;
    world.attempts.splice(index, 1); // the attempt lost its fence: it stops writing
  }
}

async function apply(world: World, c: Command) {
  const pick = <T>(items: T[], n: number) => (items.length ? n % items.length : -1);
  switch (c.kind) {
    case 'submit': {
      const task = (
        await submitter.submit({ type: 'echo', maxAttempts: 2, ...(c.delayed ? { delaySeconds: 3600 } : {}) }, { actor: 'user' })
      ).value;
      world.tasks.push(task.id);
      send(world, task);
      return;
    }
    case 'deliver': {
      const i = pick(world.inbox, c.pick);
      if (i >= 0) await deliver(world, i);
      return;
    }
    case 'progress': {
      const i = pick(world.attempts, c.pick);
      if (i >= 0) await progress(world, i);
      return;
    }
    case 'finish': {
      const i = pick(world.attempts, c.pick);
      if (i < 0) return;
      const end: AttemptEnd =
        c.end === 'ok'
          ? { kind: 'succeeded', result: '1' }
          : { kind: 'errored', error: { code: 'e', message: 'm' }, retryable: c.end === 'error' };
      await finish(world, i, end);
      return;
    }
    case 'crash': {
      // The worker dies: its attempt writes nothing more, its message stays to be redelivered.
      const i = pick(world.attempts, c.pick);
      if (i >= 0) world.attempts.splice(i, 1);
      return;
    }
    case 'control': {
      const i = pick(world.tasks, c.pick);
      if (i < 0) return;
      try {
        send(world, await control.apply(world.tasks[i], c.request, 'user'));
      } catch (error) {
        if (!(error instanceof InvalidTransition)) throw error;
      }
      return;
    }
    case 'sweep': {
      const report = await sweep(store, {}, Date.now() + 7200_000);
      for (const id of report.promoted) send(world, await store.get(id));
      return;
    }
    case 'tick':
      world.attempts = [];
      world.now += LEASE_MS + 1;
      return;
  }
}

/** Bring everything to rest: no task may be left without a way forward. */
async function drain(world: World) {
  for (let round = 0; round < 60; round++) {
    while (world.attempts.length) await finish(world, 0, { kind: 'succeeded', result: '1' });
    for (const entry of [...world.inbox]) {
      const index = world.inbox.indexOf(entry);
      if (index >= 0) await deliver(world, index);
    }
    while (world.attempts.length) await finish(world, 0, { kind: 'succeeded', result: '1' });
    await apply(world, { kind: 'tick' });
    const tasks = await Promise.all(world.tasks.map((id) => store.get(id)));
    if (tasks.every((t) => isTerminal(t.status))) return tasks;
    for (const t of tasks) {
      if (t.status === 'PAUSED') send(world, await control.apply(t.id, { action: 'resume' }, 'user'));
      if (t.status === 'SCHEDULED') await apply(world, { kind: 'sweep' });
    }
  }
  const stuck = (await Promise.all(world.tasks.map((id) => store.get(id)))).filter((t) => !isTerminal(t.status));
  throw new Error(`tasks left without a way forward: ${JSON.stringify(stuck.map((t) => ({ id: t.id, status: t.status, v: t.version })))}`);
}

describe('the state machine under random interleavings', () => {
  it('never loses a task, never completes one twice, records only legal transitions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 35 }), async (commands) => {
        const world: World = { tasks: [], inbox: [], attempts: [], now: Date.now() };
        const versions = new Map<string, number>();
        for (const c of [{ kind: 'submit', delayed: false } as Command, ...commands]) {
          await apply(world, c);
          for (const id of world.tasks) {
            const v = (await store.get(id)).version;
            expect(v).toBeGreaterThanOrEqual(versions.get(id) ?? 0);
            versions.set(id, v);
          }
        }
        const finished = await drain(world);
        for (const task of finished) {
          const events = task.history.map(decodeEvent);
          for (const e of events) expect(LEGAL_EDGES.has(`${e.from}>${e.to}`), `${e.from}>${e.to} (${e.reason})`).toBe(true);
          for (let i = 1; i < events.length; i++) expect(events[i].from).toBe(events[i - 1].to);
          // Between re-runs, at most one completion.
          let completions = 0;
          for (const e of events) {
            if (e.reason === 'rerun') completions = 0;
            if (e.to === 'SUCCEEDED') completions += 1;
            expect(completions).toBeLessThanOrEqual(1);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
