/**
 * Property tests of the paths that run a task, against the emulator, under random interleavings:
 * - processMessage with concurrent duplicate deliveries and concurrent controls: no body of a
 *   task runs twice at once, and a task completes at most once;
 * - the sweeper's container recovery racing a heartbeat: exactly one of them wins;
 * - aging of a lane holding messages of queued and of running tasks: every message of a running
 *   attempt is handed back, never deleted;
 * - concurrent idempotent replays: one task per key, never a 500, never a started task reset.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { processMessage } from '#core/claiming.ts';
import { dynamo } from '#core/clients.ts';
import { TaskControl } from '#core/control.ts';
import { StaleVersion } from '#core/errors.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import type { TaskStore } from '#core/store.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { sweep } from '#core/sweeper.ts';
import { defineTask, delay, TaskRegistry } from '#core/task-types.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';

let resources: TestResources;
let store: TaskStore;
let control: TaskControl;
let submitter: TaskSubmitter;
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

/** Bodies running now and completions, per task: what the properties are about. */
const running = new Map<string, number>();
const overlaps: string[] = [];
const completions = new Map<string, number>();

const probe = defineTask({
  type: 'probe',
  payload: z.object({ ms: z.number() }),
  async run({ ms }, ctx) {
    const now = (running.get(ctx.id) ?? 0) + 1;
    running.set(ctx.id, now);
    if (now > 1) overlaps.push(ctx.id);
    try {
      await delay(ms, ctx.signal);
      await ctx.progress(100);
      completions.set(ctx.id, (completions.get(ctx.id) ?? 0) + 1);
      return { ok: true };
    } finally {
      running.set(ctx.id, (running.get(ctx.id) ?? 1) - 1);
    }
  },
});
const registry = new TaskRegistry([probe]);

beforeAll(async () => {
  ({ resources, store } = await storesForTest('execution-property'));
  control = new TaskControl(store);
  submitter = new TaskSubmitter(store, new IdempotencyStore(dynamo(), resources.tableName), registry);
});
afterAll(() => resources.cleanup());

/** What one delivery or control came to, for a failure's message. */
const summarise = (outcome: unknown) =>
  outcome && typeof outcome === 'object' && 'kind' in outcome
    ? { kind: outcome.kind, ...('report' in outcome ? { end: (outcome as { report: { end: unknown } }).report.end } : {}) }
    : outcome && typeof outcome === 'object' && 'status' in outcome
      ? { control: (outcome as { status: unknown }).status }
      : null;

const options = () => ({ store, registry, actor: 'system', lease: { ms: 5000, indexed: false }, workerTimeoutMs: 60_000 });

describe('processMessage under duplicate deliveries and controls', () => {
  it('never runs one task twice at once and completes it at most once per attempt series', async () => {
    const step = fc.record({
      copies: fc.integer({ min: 1, max: 4 }),
      ms: fc.integer({ min: 0, max: 60 }),
      controls: fc.array(fc.constantFrom('pause', 'resume', 'cancel', 'priority'), { maxLength: 3 }),
      stagger: fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 4, maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(step, async ({ copies, ms, controls, stagger }) => {
        const task = (await submitter.submit({ type: 'probe', payload: { ms } }, { actor: 'user' })).value;
        const message = { id: task.id, v: task.version, a: task.attempt + 1 };
        const later = (i: number) => new Promise((r) => setTimeout(r, stagger[i % stagger.length]));
        const deliveries = Array.from({ length: copies }, (_, i) => later(i).then(() => processMessage(message, options())));
        const requests = controls.map((action, i) =>
          later(i + 1).then(() =>
            control
              .apply(task.id, action === 'priority' ? { action, priority: 'high' } : { action }, 'user')
              .catch((error: unknown) =>
                error instanceof Error && error.name === 'InvalidTransition' ? undefined : Promise.reject(error),
              ),
          ),
        );
        const outcomes = await Promise.all([...deliveries, ...requests]);
        expect(outcomes.filter((o) => o && 'kind' in o && o.kind === 'ran').length).toBeLessThanOrEqual(1);
        // Drain: resume what is paused and deliver what the last write queued, until terminal.
        for (let round = 0; round < 6; round++) {
          const current = await store.get(task.id);
          if (current.status === 'PAUSED') await control.apply(task.id, { action: 'resume' }, 'user');
          const latest = await store.get(task.id);
          if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(latest.status)) break;
          if (latest.status === 'QUEUED') {
            await processMessage({ id: latest.id, v: latest.version, a: latest.attempt + 1 }, options());
          }
        }
        const final = await store.get(task.id);
        // A failure says what happened: the outcomes and the task's history.
        const story = JSON.stringify({ outcomes: outcomes.map(summarise), history: await store.events(task.id) });
        expect(['SUCCEEDED', 'CANCELLED'], story).toContain(final.status);
        expect(completions.get(task.id) ?? 0, story).toBeLessThanOrEqual(1);
        if (final.status === 'SUCCEEDED') expect(completions.get(task.id), story).toBe(1);
        expect(overlaps, story).toEqual([]);
      }),
      { numRuns: 25, seed: Number(process.env.FC_SEED ?? Date.now()) },
    );
  });
});

describe('a container recovery racing a heartbeat', () => {
  it('lets exactly one win: either the lease is renewed and nothing is recovered, or the task is recovered and the heartbeat fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.boolean(), async (delay, heartbeatFirst) => {
        const task = (await submitter.submit({ type: 'probe', payload: { ms: 0 } }, { actor: 'user' })).value;
        const started = await store.start({ id: task.id, v: 1, a: 1 }, 'container', {
          set: { leaseUntil: Date.now() - 1 },
          indexLease: true,
        });
        const attempt = started.started as NonNullable<typeof started.started>;
        const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
        const heartbeat = (heartbeatFirst ? Promise.resolve() : pause(delay))
          .then(() => store.touch(attempt.id, attempt.version, { leaseUntil: Date.now() + 60_000 }, { indexLease: true }))
          .then(
            () => 'renewed' as const,
            (error: unknown) => (error instanceof StaleVersion ? ('fenced' as const) : Promise.reject(error)),
          );
        const sweeping = (heartbeatFirst ? pause(delay) : Promise.resolve()).then(() => sweep(store, {}, Date.now()));
        const [beat, report] = await Promise.all([heartbeat, sweeping]);
        const recovered = report.recovered.some((r) => r.id === task.id);
        const after = await store.get(task.id);
        if (beat === 'renewed' && !recovered) expect(after).toMatchObject({ status: 'RUNNING', attempt: 1 });
        else if (beat === 'fenced' && recovered) expect(after.status).toBe('QUEUED');
        else if (beat === 'renewed' && recovered) {
          // The renewal landed after the recovery's write: impossible, the recovery moves the version.
          throw new Error(`both won: ${JSON.stringify(after)}`);
        } else throw new Error('neither won');
      }),
      { numRuns: 20 },
    );
  });
});

describe('aging', () => {
  it('hands back every message of a running attempt and only replaces messages of queued tasks it raised', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('queued-old', 'queued-new', 'running-dead'), { minLength: 1, maxLength: 6 }),
        async (kinds) => {
          const now = Date.now();
          const ids: { id: string; kind: string }[] = [];
          for (const kind of kinds) {
            const task = (
              await submitter.submit(
                { type: 'probe', payload: { ms: 0 }, priority: 'low' },
                { actor: 'user', now: kind === 'queued-old' ? now - 3600_000 : now },
              )
            ).value;
            if (kind === 'running-dead') await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: now - 1 } });
            await sqs.send(
              new SendMessageCommand({ QueueUrl: resources.queueUrls.low, MessageBody: JSON.stringify({ id: task.id, v: 1, a: 1 }) }),
            );
            ids.push({ id: task.id, kind });
          }
          const report = await sweep(store, { lanes: { sqs, urls: resources.queueUrls } }, now);
          // Drain the lane: what is left must include every running attempt's message.
          const left: string[] = [];
          for (let empty = 0; empty < 2; ) {
            const out = await sqs.send(
              new ReceiveMessageCommand({ QueueUrl: resources.queueUrls.low, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
            );
            if (!out.Messages?.length) empty++;
            for (const m of out.Messages ?? []) {
              left.push(JSON.parse(m.Body ?? '{}').id);
              await sqs.send(new DeleteMessageCommand({ QueueUrl: resources.queueUrls.low, ReceiptHandle: m.ReceiptHandle }));
            }
          }
          for (const { id, kind } of ids) {
            if (kind === 'running-dead') expect(left).toContain(id);
            if (kind === 'queued-new') expect(left).toContain(id);
            if (kind === 'queued-old' && report.aged.includes(id)) expect((await store.get(id)).priority).toBe('normal');
            if (kind !== 'queued-old') expect(report.aged).not.toContain(id);
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe('idempotent replays', () => {
  it('answer concurrent submits with one key with one task, never a 500, and never reset a task that started', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 5 }), fc.boolean(), fc.boolean(), async (copies, batch, startBetween) => {
        const key = `k-${Math.random().toString(36).slice(2)}`;
        const body = batch
          ? {
              tasks: [
                { type: 'probe', payload: { ms: 0 } },
                { type: 'probe', payload: { ms: 1 } },
              ],
            }
          : { type: 'probe', payload: { ms: 0 } };
        const submitOnce = () =>
          batch
            ? submitter.submitBatch(body, { actor: 'user', idempotencyKey: key }).then((r) => r.value.map((t) => t.id))
            : submitter.submit(body, { actor: 'user', idempotencyKey: key }).then((r) => [r.value.id]);
        const first = await submitOnce();
        if (startBetween) await store.start({ id: first[0], v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 60_000 } });
        const answers = await Promise.all(Array.from({ length: copies }, submitOnce));
        for (const ids of answers) expect(ids).toEqual(first);
        if (startBetween) expect(await store.get(first[0])).toMatchObject({ status: 'RUNNING', version: 2 });
      }),
      { numRuns: 15 },
    );
  });
});
