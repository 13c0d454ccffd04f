/**
 * The fault paths of issue F1, one test each: every one of them failed before its fix.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '#core/clients.ts';
import { ContainerSlots, slotHolder } from '#core/container-slots.ts';
import type { ContainerPlatform } from '#core/containers.ts';
import { StoreBusy } from '#core/errors.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { launch } from '#core/launching.ts';
import { LimitStore, waiterSortKeyOf } from '#core/limit-store.ts';
import { LAUNCH_GRACE_SECONDS } from '#core/limits.ts';
import { DEFAULT_RECONCILE, laneEmptiness, type ReconcileLooks, reconcile, waiterStanding } from '#core/reconcile.ts';
import type { TaskStore } from '#core/store.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { sweep } from '#core/sweeper.ts';
import { taskRegistry } from '#tasks/index.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';
import { FaultProxy } from '../support/fault-proxy.ts';

let resources: TestResources;
let store: TaskStore;
let submitter: TaskSubmitter;
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
beforeAll(async () => {
  ({ resources, store, submitter } = await storesForTest('faults'));
});
afterAll(() => resources.cleanup());

const submit = async (body: object) => (await submitter.submit(body, { actor: 'tester' })).value;
const MINUTE = 60_000;

/** A container platform that records what it was asked (our own port, not the SDK). */
function fakePlatform(over: Partial<ContainerPlatform> = {}): ContainerPlatform {
  return {
    run: async () => 'arn:aws:ecs:us-east-1:1:task/c/abc',
    stop: async () => {},
    exitCode: async () => undefined,
    ...over,
  } as unknown as ContainerPlatform;
}

describe('aging', () => {
  it('hands back the redelivered message of a running attempt whose worker died: it is that attempt’s watchdog', async () => {
    const task = await submit({ type: 'echo', priority: 'low' });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() - 1 } });
    const body = JSON.stringify({ id: task.id, v: 1, a: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.queueUrls.low, MessageBody: body }));
    const lanes = { sqs, urls: resources.queueUrls };
    const report = await sweep(store, { lanes }, Date.now() + 31 * MINUTE);
    expect(report.errors).toEqual([]);
    const back = await sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.queueUrls.low, WaitTimeSeconds: 1 }));
    expect(back.Messages?.map((m) => m.Body)).toEqual([body]);
    expect((await store.get(task.id)).status).toBe('RUNNING');
  });
});

describe('idempotent replays', () => {
  it('never overwrite a task that exists: a reserved id already written (and started) stays as it is', async () => {
    const key = `batch-${Date.now()}`;
    const body = {
      tasks: [
        { type: 'echo', payload: 1 },
        { type: 'echo', payload: 2 },
      ],
    };
    const first = await submitter.submitBatch(body, { actor: 't', idempotencyKey: key });
    const [a] = first.value;
    await store.start({ id: a.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 30_000 } });
    // A replay racing the first call: it sees task `a` as missing and writes it again.
    const drafts = [{ record: { ...a, status: 'QUEUED' as const, version: 1, history: [] }, payloadJson: '1' }];
    expect(await store.createMissing(drafts)).toBe(0);
    expect(await store.get(a.id)).toMatchObject({ status: 'RUNNING', version: 2 });
  });

  it('answer concurrent replays of a submit whose first call died after claiming its key with one task, never a 500', async () => {
    const key = `single-${Date.now()}`;
    const idempotency = new IdempotencyStore(dynamo(), resources.tableName);
    const local = new TaskSubmitter(store, idempotency, taskRegistry);
    const body = { type: 'echo', payload: 'x' };
    // The first call claimed the key for an id, then died before writing the task.
    const fingerprintOf = async () => {
      const { createHash } = await import('node:crypto');
      return createHash('sha256').update('{"payload":"x","type":"echo"}').digest('base64url');
    };
    const { newTaskId } = await import('#core/ids.ts');
    const reserved = newTaskId();
    await idempotency.claim(key, await fingerprintOf(), [reserved], Date.now());
    const results = await Promise.all(Array.from({ length: 4 }, () => local.submit(body, { actor: 't', idempotencyKey: key })));
    expect(new Set(results.map((r) => r.value.id))).toEqual(new Set([reserved]));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});

describe('results', () => {
  it('a stale attempt cannot overwrite the winner’s large result', async () => {
    const task = await submit({ type: 'echo' });
    const { started } = await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 30_000 } });
    if (!started) throw new Error('not started');
    const big = (c: string) => JSON.stringify(c.repeat(2000));
    await store.transition(started, { action: 'succeed', reason: 'completed', actor: 'winner', set: { result: big('w') } });
    await expect(
      store.transition(started, { action: 'succeed', reason: 'completed', actor: 'stale', set: { result: big('s') } }),
    ).rejects.toThrow(/no longer at version/);
    expect((await store.resolve(await store.get(task.id))).result).toBe(big('w'));
  });
});

describe('containers', () => {
  it('a stale runner releases its own launch’s slot, never the live launch’s', async () => {
    const slots = new ContainerSlots(dynamo(), resources.tableName, 1);
    expect(await slots.acquire(slotHolder('t1', 5), Date.now() + 60_000)).toBe(true);
    await slots.release(slotHolder('t1', 3)); // the runner of an earlier launch exits
    expect(await slots.acquire(slotHolder('t2', 1), Date.now() + 60_000)).toBe(false);
    await slots.release(slotHolder('t1', 5));
    expect(await slots.acquire(slotHolder('t2', 1), Date.now() + 60_000)).toBe(true);
    await slots.release(slotHolder('t2', 1));
  });

  it('the launcher records the container it started, so a launch that never starts its task can be stopped', async () => {
    const task = await submit({ type: 'sleep', payload: { ms: 1 } });
    const slots = new ContainerSlots(dynamo(), resources.tableName, 5);
    const outcome = await launch({ id: task.id, v: 1, a: 1 }, { store, slots, platform: fakePlatform(), checkMs: 60_000 });
    expect(outcome).toEqual({ kind: 'launched', ref: 'arn:aws:ecs:us-east-1:1:task/c/abc' });
    expect(await store.get(task.id)).toMatchObject({ status: 'QUEUED', version: 1, containerRef: 'arn:aws:ecs:us-east-1:1:task/c/abc' });
    await slots.release(slotHolder(task.id, 1));
  });

  it('the sweeper launches again, at its first look, a container that stopped before starting its task', async () => {
    const task = await submit({ type: 'sleep', payload: { ms: 1 } });
    const slots = new ContainerSlots(dynamo(), resources.tableName, 5);
    const launchedAt = Date.now();
    await launch({ id: task.id, v: 1, a: 1 }, { store, slots, platform: fakePlatform(), checkMs: 1000, now: launchedAt });
    const report = await sweep(store, { platform: fakePlatform({ exitCode: async () => 137 }), slots }, launchedAt + 1001);
    expect(report.recovered).toEqual([{ id: task.id, reason: 'launch-failed', status: 'QUEUED' }]);
    expect(await store.get(task.id)).toMatchObject({ status: 'QUEUED', version: 2 });
  });

  it('the sweeper waits for a container still starting, until the launch grace is spent', async () => {
    const task = await submit({ type: 'sleep', payload: { ms: 1 } });
    const slots = new ContainerSlots(dynamo(), resources.tableName, 5);
    const launchedAt = Date.now();
    await launch({ id: task.id, v: 1, a: 1 }, { store, slots, platform: fakePlatform(), checkMs: 1000, now: launchedAt });
    const starting = { platform: fakePlatform(), slots, launchCheckMs: 1000 };
    expect((await sweep(store, starting, launchedAt + 1001)).recovered).toEqual([]);
    expect(await store.get(task.id)).toMatchObject({ status: 'QUEUED', version: 1, leaseUntil: launchedAt + 2001 });
    const late = launchedAt + LAUNCH_GRACE_SECONDS * 1000 + 1;
    expect((await sweep(store, starting, late)).recovered).toContainEqual({ id: task.id, reason: 'launch-failed', status: 'QUEUED' });
  });

  it('the sweeper goes on past a task whose recovery fails, and reports it', async () => {
    const bad = await submit({ type: 'sleep', payload: { ms: 1 } });
    await store.start({ id: bad.id, v: 1, a: 1 }, 'container', {
      set: { leaseUntil: Date.now() - 1000, containerRef: 'arn:broken' },
      indexLease: true,
    });
    const due = await submit({ type: 'echo', delaySeconds: 60 });
    const platform = fakePlatform({
      exitCode: async () => {
        throw new Error('ECS is down');
      },
    });
    const report = await sweep(store, { platform }, Date.now() + 2 * MINUTE);
    expect(report.promoted).toContain(due.id);
    expect(report.errors.map((e) => e.where)).toContain(`task ${bad.id}`);
  });
});

describe('the reconciliation', () => {
  const settings = { ...DEFAULT_RECONCILE, rungsMs: [15 * MINUTE], recoveryMs: 60_000, workerTimeoutMs: 900_000 };
  const later = () => Date.now() + 16 * MINUTE;
  const looks = (): ReconcileLooks => ({
    laneEmpty: laneEmptiness(sqs, resources.queueUrls),
    waiter: waiterStanding(new LimitStore(dynamo(), resources.tableName)),
  });

  it('re-sends a QUEUED task whose message is gone, re-indexes a SCHEDULED one, recovers a RUNNING one nothing watches — each once', async () => {
    const lost = await submit({ type: 'echo', priority: 'high' }); // its message was never sent
    const scheduled = await submit({ type: 'echo', delaySeconds: 3600 });
    const unindexed = await store.annotate(await store.get(scheduled.id), {
      reason: 'test',
      actor: 't',
      bumpVersion: false,
      remove: ['sweepShard', 'sweepAt'],
    });
    expect(unindexed.sweepAt).toBeUndefined();
    const running = await submit({ type: 'echo', priority: 'high' });
    await store.start({ id: running.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() - 1000 } });

    const report = await reconcile(store, looks(), settings, later());
    expect(report.errors).toEqual([]);
    const byId = new Map(report.repaired.map((r) => [r.id, r]));
    expect(byId.get(lost.id)).toMatchObject({ reason: 'reconcile:message-lost', status: 'QUEUED' });
    expect(byId.get(scheduled.id)).toMatchObject({ reason: 'reconcile:reindexed' });
    expect(byId.get(running.id)).toMatchObject({ reason: 'reconcile:worker-lost', status: 'QUEUED' });
    expect(await store.get(lost.id)).toMatchObject({ version: 2 });
    expect((await store.get(scheduled.id)).sweepAt).toBeDefined();
    expect((await store.events(running.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'QUEUED', reason: 'reconcile:worker-lost' });

    // The marker moved on: the next pass does not look at the same tasks again.
    const again = await reconcile(store, looks(), settings, later());
    expect(again.repaired.map((r) => r.id)).not.toContain(lost.id);
  });

  it('leaves a QUEUED task alone while its lane holds messages (it may be waiting in a backlog)', async () => {
    const waiting = await submit({ type: 'echo', priority: 'critical' });
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.queueUrls.critical, MessageBody: 'someone else' }));
    const report = await reconcile(store, looks(), { ...settings, rungsMs: [15 * MINUTE + 1] }, later());
    expect(report.repaired.map((r) => r.id)).not.toContain(waiting.id);
    expect((await store.get(waiting.id)).version).toBe(1);
  });

  it('re-admits a task that says it waits: routinely when parked, as lost when nothing would wake it', async () => {
    const limits = new LimitStore(dynamo(), resources.tableName);
    const waitFor = async (tenant: string, priority = 'high') => {
      const task = await submit({ type: 'echo', priority, tenant });
      const waitingFor = { scope: 'tenant', key: tenant };
      return store.annotate(task, { reason: 'waiting-for-slot', actor: 't', bumpVersion: false, set: { waitingFor } });
    };
    const parked = await waitFor('acme');
    await limits.park('tenant#acme', { sortKey: waiterSortKeyOf(parked), taskId: parked.id });
    // What a lost wake-up leaves: it still says it waits, with neither a waiter item nor a slot.
    const lost = await waitFor('globex');
    // Handed a slot, its message in the lane: it starts from there. With an empty lane, it is lost.
    const handedBusy = await waitFor('initech', 'critical');
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.queueUrls.critical, MessageBody: 'someone else' }));
    const handedEmpty = await waitFor('hooli');
    for (const t of [handedBusy, handedEmpty]) await limits.take(`tenant#${t.tenant}`, 5, t.id, Date.now());

    const report = await reconcile(store, looks(), { ...settings, rungsMs: [15 * MINUTE + 2] }, later());
    expect(report.errors).toEqual([]);
    const reasons = new Map(report.repaired.map((r) => [r.id, r.reason]));
    expect(reasons.get(parked.id)).toBe('reconcile:waiter-rechecked');
    expect(reasons.get(lost.id)).toBe('reconcile:wake-up-lost');
    expect(reasons.get(handedEmpty.id)).toBe('reconcile:wake-up-lost');
    expect(reasons.has(handedBusy.id)).toBe(false);
    expect(await store.get(handedBusy.id)).toMatchObject({ version: 1, waitingFor: { scope: 'tenant', key: 'initech' } });
    // A new version waits for nothing: the dispatcher admits it afresh (it keeps its place in line).
    for (const t of [parked, lost, handedEmpty]) {
      const readmitted = await store.get(t.id);
      expect(readmitted.version).toBe(2);
      expect(readmitted.waitingFor).toBeUndefined();
    }
  });
});

describe('batch writes', () => {
  it('give up with StoreBusy (503) after a bounded number of rounds when DynamoDB keeps items unprocessed', async () => {
    const proxy = new FaultProxy(process.env.AWS_ENDPOINT_URL as string);
    proxy.rules.push(({ operation, body }) =>
      operation === 'BatchWriteItem' ? { rewrite: () => ({ UnprocessedItems: body.RequestItems }) } : undefined,
    );
    const url = await proxy.start();
    try {
      const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: url }), { marshallOptions: { removeUndefinedValues: true } });
      const { TaskStore } = await import('#core/store.ts');
      const busyStore = new TaskStore(db, resources.tableName);
      const busy = new TaskSubmitter(busyStore, new IdempotencyStore(db, resources.tableName), taskRegistry);
      await expect(busy.submitBatch({ tasks: [{ type: 'echo' }] }, { actor: 't' })).rejects.toBeInstanceOf(StoreBusy);
      expect(proxy.seen.filter((o) => o === 'BatchWriteItem').length).toBe(10);
    } finally {
      await proxy.stop();
    }
  });
});
