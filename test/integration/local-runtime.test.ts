/**
 * The local runtime's own robustness: it provisions into an endpoint that keeps its resources
 * between runs, its event sources survive failed calls, and an ephemeral runtime leaves nothing.
 */
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ListQueuesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { SqsEventSource } from '../../bin/local/event-sources.ts';
import { deprovision, provision } from '../../bin/local/provision.ts';
import { uniquePrefix } from '../support/aws.ts';
import { eventually } from '../support/factories.ts';
import { FaultProxy } from '../support/fault-proxy.ts';

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

describe('provisioning', () => {
  it('brings existing queues in line instead of failing when their attributes changed', async () => {
    const prefix = uniquePrefix('reprovision');
    const first = await provision({ prefix, workerTimeoutSeconds: 60 });
    try {
      const second = await provision({ prefix, workerTimeoutSeconds: 10 });
      expect(second.queueUrls).toEqual(first.queueUrls);
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: second.queueUrls.normal, AttributeNames: ['All'] }));
      expect(attributes.Attributes).toMatchObject({ VisibilityTimeout: '10', MessageRetentionPeriod: '1209600' });
    } finally {
      await deprovision(first);
    }
  });

  it('deprovision leaves no table and no queue behind', async () => {
    const prefix = uniquePrefix('gone');
    const resources = await provision({ prefix });
    await deprovision(resources);
    await expect(new DynamoDBClient({}).send(new DescribeTableCommand({ TableName: resources.tableName }))).rejects.toThrow();
    expect((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }))).QueueUrls ?? []).toEqual([]);
  });
});

describe('the local SQS event source', () => {
  it('keeps polling when deleting a batch fails', async () => {
    const resources = await provision({ prefix: uniquePrefix('source') });
    const proxy = new FaultProxy(process.env.AWS_ENDPOINT_URL as string);
    let failDeletes = 3; // the SDK tries three times
    proxy.rules.push(({ operation }) =>
      operation === 'DeleteMessageBatch' && failDeletes-- > 0
        ? { status: 500, body: { __type: 'InternalError', message: 'injected' } }
        : undefined,
    );
    const previous = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = await proxy.start();
    const bodies: string[] = [];
    const errors: unknown[] = [];
    try {
      const source = new SqsEventSource({
        queueUrl: resources.queueUrls.normal,
        queueArn: resources.queueArns.normal,
        batchSize: 1,
        maxConcurrency: 1,
        invoke: async (event: SQSEvent) => {
          bodies.push(...event.Records.map((r) => r.body));
          return { batchItemFailures: [] };
        },
        onError: (e) => errors.push(e),
        sqs: new SQSClient({ useQueueUrlAsEndpoint: false, endpoint: process.env.AWS_ENDPOINT_URL_SQS }),
      });
      source.start();
      await sqs.send(new SendMessageCommand({ QueueUrl: resources.queueUrls.normal, MessageBody: 'one' }));
      await eventually(
        async () => bodies.length,
        (n) => n >= 1,
      );
      await sqs.send(new SendMessageCommand({ QueueUrl: resources.queueUrls.normal, MessageBody: 'two' }));
      await eventually(
        async () => bodies,
        (b) => b.includes('two'),
      );
      await source.stop();
      expect(errors.length).toBeGreaterThanOrEqual(1);
    } finally {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = previous;
      await proxy.stop();
      await deprovision(resources);
    }
  });
});
