import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '#core/model.ts';
import type { TaskStore } from '#core/store.ts';
import type { TaskSubmitter } from '#core/submission.ts';
import { handler as dispatch } from '#handlers/dispatcher.ts';
import { handler as work } from '#handlers/worker.ts';
import { taskRegistry } from '#tasks/index.ts';
import { storesForTest, type TestResources } from '../support/aws.ts';
import { eventually, lambdaContext, sqsEvent } from '../support/factories.ts';
import { refusingOnce } from '../support/refusing-store.ts';
import { IDEMPOTENT, registerTestTypes } from '../support/test-tasks.ts';

registerTestTypes();

let resources: TestResources;
let store: TaskStore;
let submitter: TaskSubmitter;
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

beforeAll(async () => {
  ({ resources, store, submitter } = await storesForTest('pipeline'));
});
afterAll(() => resources.cleanup());

const streamEvent = (...images: TaskRecord[]): DynamoDBStreamEvent => ({
  Records: images.map((image, i) => ({
    eventName: 'MODIFY',
    dynamodb: { SequenceNumber: String(100 + i), NewImage: marshall(image, { removeUndefinedValues: true }) as never },
  })),
});

async function drain(url: string) {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  return (out.Messages ?? []).map((m) => JSON.parse(m.Body ?? ''));
}

describe('dispatcher', () => {
  it('sends each queued version to its lane as {id, v, a}', async () => {
    const critical = (await submitter.submit({ type: 'echo', priority: 'critical' }, { actor: 't' })).value;
    const low = (await submitter.submit({ type: 'echo', priority: 'low' }, { actor: 't' })).value;
    const result = await dispatch(streamEvent(critical, low, { ...low, status: 'RUNNING' }));
    expect(result.batchItemFailures).toEqual([]);
    expect(await drain(resources.queueUrls.critical)).toEqual([{ id: critical.id, v: 1, a: 1 }]);
    expect(await drain(resources.queueUrls.low)).toEqual([{ id: low.id, v: 1, a: 1 }]);
  });
});

describe('worker', () => {
  it('runs a task to SUCCEEDED with its result and timings: an exclusive start, then the outcome', async () => {
    const task = (await submitter.submit({ type: 'echo', payload: { hi: 1 } }, { actor: 't' })).value;
    const out = await work(sqsEvent([{ id: task.id, v: 1, a: 1 }]), lambdaContext());
    expect(out.batchItemFailures).toEqual([]);
    const done = await store.resolve(await store.get(task.id));
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: '{"hi":1}', attempt: 1, version: 3 });
    expect((await store.events(task.id)).map((e) => `${e.from}>${e.to}`)).toEqual(['null>QUEUED', 'QUEUED>RUNNING', 'RUNNING>SUCCEEDED']);
    expect(done.startedAt).toBeGreaterThanOrEqual(done.createdAt);
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt ?? 0);
  });

  it('costs an idempotent type one state write: its start and outcome are recorded together', async () => {
    const task = (await submitter.submit({ type: IDEMPOTENT, payload: { ms: 0 } }, { actor: 't' })).value;
    expect(task.idempotent).toBe(true);
    await work(sqsEvent([{ id: task.id, v: 1, a: 1, i: 1 }]), lambdaContext());
    expect(await store.get(task.id)).toMatchObject({ status: 'SUCCEEDED', attempt: 1, version: 2 });
    expect((await store.events(task.id)).map((e) => `${e.from}>${e.to}`)).toEqual(['null>QUEUED', 'QUEUED>RUNNING', 'RUNNING>SUCCEEDED']);
  });

  it('writes the start first for a redelivered message, even of an idempotent type', async () => {
    const task = (await submitter.submit({ type: IDEMPOTENT, payload: { ms: 0 } }, { actor: 't' })).value;
    await work(sqsEvent([{ id: task.id, v: 1, a: 1, i: 1 }], 2), lambdaContext());
    expect(await store.get(task.id)).toMatchObject({ status: 'SUCCEEDED', version: 3 });
  });

  it('puts an idempotent task with a rate limit through the gate and a start write, so the rate holds', async () => {
    const rate: [string, number, number] = [`key/pipeline-rate-${Date.now()}`, 1, 60];
    const [first, second] = await Promise.all(
      [0, 1].map(async () => (await submitter.submit({ type: IDEMPOTENT, payload: { ms: 0 } }, { actor: 't' })).value),
    );
    await work(sqsEvent([{ id: first.id, v: 1, a: 1, i: 1, r: [rate] }]), lambdaContext());
    expect(await store.get(first.id)).toMatchObject({ status: 'SUCCEEDED', version: 3 });
    await work(sqsEvent([{ id: second.id, v: 1, a: 1, i: 1, r: [rate] }]), lambdaContext());
    expect(await store.get(second.id)).toMatchObject({ status: 'QUEUED', version: 2 });
    expect((await store.events(second.id)).map((e) => e.reason)).toContainEqual(expect.stringMatching(/^rate-limited: /));
  });

  it('keeps the message of a rate-limited task whose delay write was refused, rather than dropping it as stale', async () => {
    const { processMessage } = await import('#core/claiming.ts');
    const { RateGate } = await import('#core/rate-gate.ts');
    const { LimitStore } = await import('#core/limit-store.ts');
    const { dynamo } = await import('#core/clients.ts');
    const rate: [string, number, number] = [`key/pipeline-refused-${Date.now()}`, 1, 60];
    const [first, second] = await Promise.all([0, 1].map(async () => (await submitter.submit({ type: 'echo' }, { actor: 't' })).value));
    const throttled = refusingOnce(store, 'rate-limited');
    const options = (taskStore: TaskStore) => ({
      store: taskStore,
      registry: taskRegistry,
      actor: 'system',
      lease: { ms: 30_000, indexed: false },
      workerTimeoutMs: 60_000,
      rateGate: new RateGate(new LimitStore(dynamo(), resources.tableName)),
    });
    expect((await processMessage({ id: first.id, v: 1, a: 1, r: [rate] }, options(store))).kind).toBe('ran');
    // Thrown, the worker reports the message as failed and it comes back; taken for stale, it
    // was deleted while its task stayed QUEUED with no message.
    await expect(processMessage({ id: second.id, v: 1, a: 1, r: [rate] }, options(throttled.store))).rejects.toThrow('Throughput');
    expect(throttled.refused()).toBe(true);
    expect(await store.get(second.id)).toMatchObject({ status: 'QUEUED', version: 1 });
    expect((await processMessage({ id: second.id, v: 1, a: 1, r: [rate] }, options(store))).kind).toBe('deferred');
    expect(await store.get(second.id)).toMatchObject({ status: 'QUEUED', version: 2 });
  });

  it('writes the start of an idempotent task that outlives the lazy-start window, so it shows RUNNING', async () => {
    const task = (await submitter.submit({ type: IDEMPOTENT, payload: { ms: 5000 } }, { actor: 't' })).value;
    const run = work(sqsEvent([{ id: task.id, v: 1, a: 1, i: 1 }]), lambdaContext());
    const running = await eventually(
      () => store.get(task.id),
      (t) => t.status !== 'QUEUED',
    );
    expect(running).toMatchObject({ status: 'RUNNING', version: 2 });
    await run;
    expect((await store.get(task.id)).status).toBe('SUCCEEDED');
  });

  it('records the outcome when the first progress write and the lazy start happen together', async () => {
    const { processMessage } = await import('#core/claiming.ts');
    const tasks = await Promise.all(
      Array.from({ length: 6 }, () => submitter.submit({ type: IDEMPOTENT, payload: { ms: 300, steps: 3 } }, { actor: 't' })),
    );
    await Promise.all(
      tasks.map(({ value }) =>
        processMessage(
          { id: value.id, v: 1, a: 1, i: 1 },
          {
            store,
            registry: taskRegistry,
            actor: 'system',
            lease: { ms: 30_000, indexed: false },
            workerTimeoutMs: 60_000,
            lazyStartMs: 100,
          },
        ),
      ),
    );
    for (const { value } of tasks) expect((await store.get(value.id)).status).toBe('SUCCEEDED');
  });

  it('keeps a duplicate of a live attempt out of sight until its lease would expire, without running it', async () => {
    const task = (await submitter.submit({ type: 'echo' }, { actor: 't' })).value;
    await store.start({ id: task.id, v: 1, a: 1 }, 'system', { set: { leaseUntil: Date.now() + 20_000 } });
    await sqs.send(
      new SendMessageCommand({ QueueUrl: resources.queueUrls.normal, MessageBody: JSON.stringify({ id: task.id, v: 1, a: 1 }) }),
    );
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: resources.queueUrls.normal, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
    );
    const [message] = received.Messages ?? [];
    const event = sqsEvent([{ id: task.id, v: 1, a: 1 }]);
    Object.assign(event.Records[0], { receiptHandle: message.ReceiptHandle, eventSourceARN: resources.queueArns.normal });
    const out = await work(event, lambdaContext());
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0].messageId }]);
    expect(await store.get(task.id)).toMatchObject({ status: 'RUNNING', attempt: 1, version: 2 });
    // Invisible for the rest of the lease (about 20 s), not the queue's 30 s, nor 0.
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: resources.queueUrls.normal, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(1);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: resources.queueUrls.normal,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  });

  it('drops a stale or duplicate message without running the task again', async () => {
    const task = (await submitter.submit({ type: 'echo' }, { actor: 't' })).value;
    await work(sqsEvent([{ id: task.id, v: 1, a: 1 }]), lambdaContext());
    const out = await work(sqsEvent([{ id: task.id, v: 1, a: 1 }]), lambdaContext());
    expect(out.batchItemFailures).toEqual([]);
    const events = await store.events(task.id);
    expect(events.filter((e) => e.to === 'RUNNING')).toHaveLength(1);
  });

  it('records a thrown error as FAILED with the message when no attempts are left', async () => {
    const task = (await submitter.submit({ type: 'fail', payload: { times: 5, message: 'kaput' }, maxAttempts: 1 }, { actor: 't' })).value;
    await work(sqsEvent([{ id: task.id, v: 1, a: 1 }]), lambdaContext());
    const failed = await store.get(task.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toEqual({ code: 'task-error', message: expect.stringContaining('kaput') });
  });

  it('processes a batch independently: one bad message does not fail the others', async () => {
    const ok = (await submitter.submit({ type: 'echo' }, { actor: 't' })).value;
    const event = sqsEvent([{ id: ok.id, v: 1, a: 1 }]);
    event.Records.push({ ...event.Records[0], messageId: 'garbage', body: 'not json' });
    const out = await work(event, lambdaContext());
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'garbage' }]);
    expect((await store.get(ok.id)).status).toBe('SUCCEEDED');
  });
});

describe('visibility of a batch', () => {
  it("shortens a received message's visibility at once, so a dead worker's message is back within the bound, not the queue's 900 s", async () => {
    const { VisibilityKeeper } = await import('#core/visibility.ts');
    const url = resources.queueUrls.high;
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'watchdog' }));
    const received = await eventually(
      async () => (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }))).Messages ?? [],
      (messages) => messages.length === 1,
    );
    const [message] = received;
    const keeper = new VisibilityKeeper(sqs, url, 2, [
      { messageId: message.MessageId as string, receiptHandle: message.ReceiptHandle as string },
    ]).start();
    // The worker dies: nothing renews the visibility any more, nothing deletes the message.
    await keeper.stop();
    expect(keeper.failures).toEqual([]);
    const again = await eventually(
      async () => (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }))).Messages ?? [],
      (messages) => messages.length === 1,
      10_000,
    );
    expect(again[0].Body).toBe('watchdog');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again[0].ReceiptHandle }));
  });
});
