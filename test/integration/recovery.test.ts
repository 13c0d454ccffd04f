import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failuresWaiting } from '#core/attention.ts';
import { processMessage } from '#core/claiming.ts';
import { TaskControl } from '#core/control.ts';
import { drainDeadLetters, recoverDeadLetter } from '#core/dead-letters.ts';
import { LANE_SWITCH_PARTITION, LaneSwitches } from '#core/lane-switch.ts';
import { laneDefinition } from '#core/lanes.ts';
import type { TaskStore } from '#core/store.ts';
import type { TaskSubmitter } from '#core/submission.ts';
import { sweep } from '#core/sweeper.ts';
import { taskRegistry } from '#tasks/index.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';

let resources: TestResources;
let store: TaskStore;
let submitter: TaskSubmitter;
beforeAll(async () => {
  ({ resources, store, submitter } = await storesForTest('recovery'));
});
afterAll(() => resources.cleanup());

const submit = async (body: object) => (await submitter.submit(body, { actor: 'tester' })).value;

describe('the sweeper', () => {
  it('promotes SCHEDULED tasks when they are due, and only then', async () => {
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    const task = await submit({ type: 'echo', runAt: inAnHour });
    expect(task.status).toBe('SCHEDULED');
    expect((await sweep(store)).promoted).not.toContain(task.id);
    const later = await sweep(store, {}, Date.now() + 3601_000);
    expect(later.promoted).toContain(task.id);
    const promoted = await store.get(task.id);
    expect(promoted.status).toBe('QUEUED');
    expect(promoted.sweepAt).toBeUndefined(); // out of the sparse index once queued
    expect((await store.events(task.id)).at(-1)).toMatchObject({ from: 'SCHEDULED', to: 'QUEUED', reason: 'due', actor: 'sweeper' });
  });

  it('does not see finished or queued tasks at all', async () => {
    const queued = await submit({ type: 'echo' });
    const ids = await store.dueForSweep(Date.now() + 10 * 365 * 86400_000);
    expect(ids).not.toContain(queued.id);
  });
});

describe('aging', () => {
  it('raises a task that waited past its lane limit one lane, and leaves younger ones', async () => {
    const { SQSClient } = await import('@aws-sdk/client-sqs');
    const { handler: dispatch } = await import('#handlers/dispatcher.ts');
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    const old = await submit({ type: 'echo', priority: 'low' });
    await dispatch({ Records: [{ dynamodb: { SequenceNumber: '1', NewImage: marshall(old, { removeUndefinedValues: true }) as never } }] });
    const lanes = { sqs: new SQSClient({ useQueueUrlAsEndpoint: false }), urls: resources.queueUrls };
    expect((await sweep(store, { lanes }, Date.now() + 60_000)).aged).toEqual([]);
    const report = await sweep(store, { lanes }, Date.now() + 31 * 60_000);
    expect(report.aged).toEqual([old.id]);
    expect(await store.get(old.id)).toMatchObject({ status: 'QUEUED', priority: 'normal', version: 2 });
    expect((await store.events(old.id)).at(-1)).toMatchObject({
      from: 'QUEUED',
      to: 'QUEUED',
      reason: 'aging:low>normal',
      actor: 'sweeper',
    });
  });

  it('notes a lane where a task it looked at waited past the lane’s behindSeconds (the attention alarm’s lane-behind)', async () => {
    const { SQSClient } = await import('@aws-sdk/client-sqs');
    const { handler: dispatch } = await import('#handlers/dispatcher.ts');
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    const task = await submit({ type: 'echo', priority: 'high' });
    await dispatch({
      Records: [{ dynamodb: { SequenceNumber: '2', NewImage: marshall(task, { removeUndefinedValues: true }) as never } }],
    });
    const lanes = { sqs: new SQSClient({ useQueueUrlAsEndpoint: false }), urls: resources.queueUrls };
    const behind = laneDefinition('high').behindSeconds * 1000;
    // Past its aging limit but not behind: raised, and no lane noted.
    const raisedOnly = await sweep(store, { lanes }, Date.now() + behind / 2 + 60_000);
    expect(raisedOnly).toMatchObject({ aged: [task.id], behind: [] });
    const raised = await store.get(task.id);
    expect(raised).toMatchObject({ priority: 'critical', version: 2 });
    const stale = await submit({ type: 'echo', priority: 'high' });
    await dispatch({
      Records: [{ dynamodb: { SequenceNumber: '3', NewImage: marshall(stale, { removeUndefinedValues: true }) as never } }],
    });
    const late = await sweep(store, { lanes }, Date.now() + behind + 60_000);
    expect(late.behind).toEqual(['high']);
    expect(late.aged).toEqual([stale.id]);
  });
});

describe('dead letters', () => {
  it('re-queue a task whose claiming message kept crashing its worker, while attempts are left', async () => {
    const task = await submit({ type: 'echo', maxAttempts: 10 });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() - 1 } });
    expect((await recoverDeadLetter(store, { id: task.id, v: 1, a: 1 }, 5)).outcome).toBe('recovered');
    expect(await store.get(task.id)).toMatchObject({ status: 'QUEUED', version: 3, error: { code: 'worker-lost' } });
    expect((await store.events(task.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'QUEUED', reason: 'dead-letter' });
  });

  it('fail it as poison when its attempts are spent', async () => {
    const task = await submit({ type: 'echo', maxAttempts: 1 });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() - 1 } });
    expect((await recoverDeadLetter(store, { id: task.id, v: 1, a: 1 }, 5)).outcome).toBe('recovered');
    expect(await store.get(task.id)).toMatchObject({ status: 'FAILED', error: { code: 'poison' } });
  });

  it('leave a live attempt alone: its worker holds its own copy of the message', async () => {
    const task = await submit({ type: 'echo' });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 30_000 } });
    expect((await recoverDeadLetter(store, { id: task.id, v: 1, a: 1 }, 5)).outcome).toBe('stale');
    expect(await store.get(task.id)).toMatchObject({ status: 'RUNNING', version: 2 });
  });

  it('re-send a task that never started, and ignore stale messages', async () => {
    const task = await submit({ type: 'echo' });
    expect((await recoverDeadLetter(store, { id: task.id, v: 1, a: 1 }, 5)).outcome).toBe('redispatched');
    const again = await store.get(task.id);
    expect(again).toMatchObject({ status: 'QUEUED', version: 2 });
    expect((await recoverDeadLetter(store, { id: task.id, v: 1, a: 1 }, 5)).outcome).toBe('stale');
  });
});

describe('aging a paused lane', () => {
  it('leaves a paused lane’s tasks waiting in it, whoever paused it: neither raised nor reported behind, until it is resumed', async () => {
    const { SQSClient } = await import('@aws-sdk/client-sqs');
    const { LambdaClient, UpdateEventSourceMappingCommand } = await import('@aws-sdk/client-lambda');
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const { dynamo } = await import('#core/clients.ts');
    const { handler: dispatch } = await import('#handlers/dispatcher.ts');
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    const lambda = new LambdaClient({});
    const mapping = resources.mappings.normal as string;
    expect(mapping).toBeDefined(); // registered by the test's provisioning, as the stack creates it
    // As AWS's console flips it: the mapping alone, no record of Sluice's.
    const flip = (enabled: boolean) => lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping, Enabled: enabled }));
    const task = await submit({ type: 'echo', priority: 'normal' });
    await dispatch({
      Records: [{ dynamodb: { SequenceNumber: '4', NewImage: marshall(task, { removeUndefinedValues: true }) as never } }],
    });
    const switches = new LaneSwitches(lambda, dynamo(), resources.tableName, resources.mappings);
    const lanes = { sqs: new SQSClient({ useQueueUrlAsEndpoint: false }), urls: resources.queueUrls, paused: () => switches.paused() };
    const late = Date.now() + laneDefinition('normal').behindSeconds * 1000 + 60_000;
    try {
      await flip(false);
      expect(await sweep(store, { lanes }, late)).toMatchObject({ aged: [], behind: [], errors: [] });
      expect(await store.get(task.id)).toMatchObject({ priority: 'normal', version: 1 });
      // A record of Sluice's saying paused does not outweigh the mapping, which runs the lane again.
      await dynamo().send(
        new PutCommand({
          TableName: resources.tableName,
          Item: { pk: LANE_SWITCH_PARTITION, id: 'normal', paused: true, by: 'tester', at: new Date().toISOString() },
        }),
      );
      await flip(true);
      expect(await sweep(store, { lanes }, late)).toMatchObject({ aged: [task.id], behind: ['normal'] });
    } finally {
      await flip(true);
      lambda.destroy();
    }
  });
});

describe('the DLQ drain', () => {
  it('recovers each dead letter’s task, deletes the message, drops what is no task message, and counts every one', async () => {
    const { SQSClient, SendMessageCommand, GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    const task = await submit({ type: 'echo', maxAttempts: 3 });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() - 1 } });
    const url = resources.dlqUrls.normal;
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ id: task.id, v: 1, a: 1 }) }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'not a task' }));
    const drain = await drainDeadLetters(store, sqs, { normal: url });
    expect(drain.errors).toEqual([]);
    expect(drain.received.map((r) => r.outcome).sort()).toEqual(['dropped', 'recovered']);
    expect(drain.received.every((r) => r.lane === 'normal')).toBe(true);
    expect(await store.get(task.id)).toMatchObject({ status: 'QUEUED', attempt: 1, error: { code: 'worker-lost' } });
    expect((await store.events(task.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'QUEUED', reason: 'dead-letter', actor: 'system' });
    const left = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(left.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('reports a DLQ it cannot read, and goes on with the others', async () => {
    const { SQSClient } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    const missing = `${resources.dlqUrls.low}-gone`;
    const drain = await drainDeadLetters(store, sqs, { low: missing, high: resources.dlqUrls.high });
    expect(drain.errors.map((e) => e.where)).toEqual(['dead letters low']);
    expect(drain.received).toEqual([]);
  });

  it('counts what waits in a failure queue', async () => {
    const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    // A DLQ of this test's stack stands in for a failure queue: the look is the same.
    const url = resources.dlqUrls.critical;
    expect((await failuresWaiting(sqs, { 'dispatch-failures': url })).waiting).toEqual({ 'dispatch-failures': 0 });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"stream":"record"}' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"stream":"record"}', DelaySeconds: 60 }));
    expect(await failuresWaiting(sqs, { 'dispatch-failures': url })).toEqual({ waiting: { 'dispatch-failures': 2 }, errors: [] });
  });
});

describe('a redelivered message', () => {
  const options = {
    store: undefined as unknown as TaskStore,
    registry: taskRegistry,
    actor: 'system',
    lease: { ms: 30_000, indexed: false },
    workerTimeoutMs: 900_000,
  };

  it('is stale on its first delivery after the task moved on', async () => {
    const task = await submit({ type: 'echo' });
    await new TaskControl(store).apply(task.id, { action: 'priority', priority: 'high' }, 'tester');
    const outcome = await processMessage({ id: task.id, v: 1, a: 1 }, { ...options, store });
    expect(outcome.kind).toBe('stale');
  });

  it('is held while the attempt it started holds its lease', async () => {
    const task = await submit({ type: 'echo' });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 20_000 } });
    const outcome = await processMessage({ id: task.id, v: 1, a: 1 }, { ...options, store });
    expect(outcome.kind).toBe('held');
    expect(outcome.kind === 'held' && outcome.retryAfterMs).toBeGreaterThan(15_000);
    expect(await store.get(task.id)).toMatchObject({ status: 'RUNNING', attempt: 1, version: 2 });
  });

  it('takes over from a dead worker (its lease expired) with the next attempt', async () => {
    const task = await submit({ type: 'echo', payload: 'again' });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { now: Date.now() - 31_000, set: { leaseUntil: Date.now() - 1000 } });
    const outcome = await processMessage({ id: task.id, v: 1, a: 1 }, { ...options, store });
    expect(outcome.kind).toBe('ran');
    expect(await store.get(task.id)).toMatchObject({ status: 'SUCCEEDED', attempt: 2 });
    expect((await store.events(task.id)).map((e) => e.reason)).toEqual(['submit', 'start', 'worker-lost', 'start', 'completed']);
  });

  it('does not take over when the lease was renewed after it was read (the fence includes the lease)', async () => {
    const task = await submit({ type: 'echo' });
    const { started } = await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() - 1000 } });
    if (!started) throw new Error('not started');
    await store.touch(task.id, started.version, { leaseUntil: Date.now() + 30_000 }); // the worker's heartbeat lands first
    await expect(
      store.transition(started, { action: 'requeue', reason: 'worker-lost', actor: 'x', expectLease: started.leaseUntil }),
    ).rejects.toThrow(/no longer at version/);
  });

  it('decides again when a pause was withdrawn after the dead attempt was read: the task runs on, it is not left PAUSED', async () => {
    const { recoverLost } = await import('#core/recovery.ts');
    const task = await submit({ type: 'echo' });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 30_000 } });
    await new TaskControl(store).apply(task.id, { action: 'pause' }, 'tester');
    const running = await store.get(task.id);
    await store.touch(task.id, running.version, { leaseUntil: Date.now() - 1 }); // its heartbeats stopped
    const seen = await store.get(task.id); // the takeover reads: control "pause", lease expired
    await new TaskControl(store).apply(task.id, { action: 'resume' }, 'tester'); // withdrawn: same version
    const lost = { reason: 'worker-lost', error: { code: 'worker-lost', message: 'gone' } };
    const after = (await recoverLost(store, seen, lost, { actor: 'system', now: Date.now() }))?.task;
    expect(after).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect((await store.events(task.id)).at(-1)).toMatchObject({ from: 'RUNNING', to: 'QUEUED', reason: 'worker-lost' });
  });

  it('honours a pending cancel of a task whose worker died', async () => {
    const task = await submit({ type: 'echo' });
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 30_000 } });
    await new TaskControl(store).apply(task.id, { action: 'cancel' }, 'tester');
    const running = await store.get(task.id);
    await store.touch(task.id, running.version, { leaseUntil: Date.now() - 1 }); // as if its heartbeats had stopped
    const outcome = await processMessage({ id: task.id, v: 1, a: 1 }, { ...options, store });
    expect(outcome.kind).toBe('recovered');
    expect(await store.get(task.id)).toMatchObject({ status: 'CANCELLED' });
    expect((await store.events(task.id)).at(-1)).toMatchObject({ to: 'CANCELLED', reason: 'cancel-forced' });
  });
});
