/**
 * Local stand-ins for Lambda event source mappings: an SQS poller per lane (batch size, partial
 * batch failure, maximum concurrency, visibility timeout as the queue defines it) and a DynamoDB
 * stream poller (filter criteria, ordered batches, retry from the first failed record).
 */
import { setMaxListeners } from 'node:events';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { GetEventSourceMappingCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { sqsClient } from '#core/clients.ts';
import { retryFrom } from '#core/dispatching.ts';

/** One abort signal is shared by every long poll of a source; that is not a leak. */
function abortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

const region = () => process.env.AWS_REGION ?? 'us-east-1';
/** Waits `ms`, or less if the signal aborts (its listener is removed either way: pollers pause forever). */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });

/**
 * A mapping's Enabled switch as the Lambda API holds it (UpdateEventSourceMapping flips it), read
 * before each long poll (at most once a second, as a busy lane polls many times a second); a poll under way ends and its messages are
 * handled, as on AWS. A failed read keeps the last state seen.
 */
export class MappingSwitch {
  private readonly lambda = new LambdaClient({ region: region() });
  private readonly refreshMs: number;
  private enabledAsOf = { enabled: true, at: 0 };

  constructor(
    readonly uuid: string,
    refreshMs = 1000,
  ) {
    this.refreshMs = refreshMs;
  }

  async enabled(): Promise<boolean> {
    if (Date.now() - this.enabledAsOf.at < this.refreshMs) return this.enabledAsOf.enabled;
    try {
      const out = await this.lambda.send(new GetEventSourceMappingCommand({ UUID: this.uuid }));
      this.enabledAsOf = { enabled: out.State !== 'Disabled' && out.State !== 'Disabling', at: Date.now() };
    } catch {
      this.enabledAsOf = { ...this.enabledAsOf, at: Date.now() };
    }
    return this.enabledAsOf.enabled;
  }

  destroy(): void {
    this.lambda.destroy();
  }
}

export interface SqsSourceOptions {
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  maxConcurrency: number;
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  onError?: (error: unknown) => void;
  /** The client to poll with. @default the shared client (the benchmark meters the mapping's requests, which AWS bills too) */
  sqs?: SQSClient;
  /** The mapping's Enabled switch: while it is off nothing is received (running invocations finish). @default always on */
  mapping?: MappingSwitch;
}

/** Polls one queue and keeps at most `maxConcurrency` invocations in flight, as an ESM does. */
export class SqsEventSource {
  private readonly sqs: SQSClient;
  private readonly stopping = abortController();
  private readonly inflight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: SqsSourceOptions) {
    this.sqs = options.sqs ?? sqsClient();
  }

  start(): void {
    this.loop = this.run();
  }

  get busy(): number {
    return this.inflight.size;
  }

  /**
   * Whether the source receives: false once it has seen its mapping disabled and its last long
   * poll has ended (what AWS reports as the mapping's Disabled state after Disabling).
   */
  get consuming(): boolean {
    return this.switchedOn || this.receiving;
  }

  private switchedOn = true;
  private receiving = false;

  private async run(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      if (this.inflight.size >= this.options.maxConcurrency) {
        await Promise.race(this.inflight);
        continue;
      }
      this.switchedOn = this.options.mapping ? await this.options.mapping.enabled() : true;
      if (!this.switchedOn) {
        await pause(250, signal);
        continue;
      }
      let messages: Message[] = [];
      this.receiving = true;
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: this.options.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (signal.aborted) break;
        this.options.onError?.(error);
        await pause(500, signal);
        continue;
      } finally {
        this.receiving = false;
      }
      if (messages.length === 0) continue;
      const invocation = this.invoke(messages).finally(() => this.inflight.delete(invocation));
      this.inflight.add(invocation);
    }
  }

  /** One invocation and its deletes; never rejects (a failure must not end the poll loop). */
  private async invoke(messages: Message[]): Promise<void> {
    try {
      await this.invokeOnce(messages);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private async invokeOnce(messages: Message[]): Promise<void> {
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId as string,
        receiptHandle: m.ReceiptHandle as string,
        body: m.Body ?? '',
        attributes: m.Attributes as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.options.queueArn,
        awsRegion: region(),
      })),
    };
    let failed: Set<string>;
    try {
      const response = await this.options.invoke(event);
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // A failed invocation returns the whole batch to the queue (after the visibility timeout).
      this.options.onError?.(error);
      return;
    }
    const done = messages.filter((m) => !failed.has(m.MessageId as string));
    if (done.length === 0) return;
    await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.options.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.allSettled(this.inflight);
    this.options.mapping?.destroy();
  }
}

export interface StreamSourceOptions {
  streamArn: string;
  batchSize: number;
  /** Records for which this returns false never reach the function (ESM filter criteria). */
  filter: (record: _Record) => boolean;
  invoke: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;
  onError?: (error: unknown) => void;
  /** Wait between reads of a shard. @default 250 ms: Lambda polls a stream's shards four times a second. */
  pollIntervalMs?: number;
  /**
   * Invocations in flight at once for one shard, each with the records of its own items in order:
   * Lambda's ParallelizationFactor, and what a table with several stream shards does. The local
   * stream is one shard; this plays the concurrency AWS can have. @default 1
   */
  parallelization?: number;
}

/** Which of `n` ordered sequences a record goes to: by its item's key, as Lambda splits a shard. */
export function sequenceOf(record: _Record, n: number): number {
  const key = JSON.stringify(record.dynamodb?.Keys ?? {});
  let hash = 2166136261; // FNV-1a
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  return (hash >>> 0) % n;
}

/**
 * A page's records in `parallelization` (at least 1) ordered sequences side by side, `batchSize` at a time
 * each; returns the earliest record to retry from. Records of other sequences after it are
 * delivered again (at least once, as Lambda does after a failure).
 */
export async function deliverInSequences(
  records: readonly _Record[],
  parallelization: number,
  batchSize: number,
  deliver: (batch: _Record[]) => Promise<string | undefined>,
): Promise<string | undefined> {
  const sequences = Array.from({ length: parallelization }, () => [] as _Record[]);
  for (const record of records) sequences[parallelization === 1 ? 0 : sequenceOf(record, parallelization)].push(record);
  const failed = await Promise.all(
    sequences.map(async (sequence) => {
      for (let i = 0; i < sequence.length; i += batchSize) {
        const from = await deliver(sequence.slice(i, i + batchSize));
        if (from) return from;
      }
      return undefined;
    }),
  );
  return retryFrom(failed.filter((f): f is string => f !== undefined));
}

/**
 * GetRecords' largest page. Like Lambda's poller, a shard is read in whole pages and only the
 * matching records count towards a batch: reading it `batchSize` records at a time would make a
 * consumer with a narrow filter (the schedule sync) ask the emulator dozens of times a second, and
 * a change wait behind every page of records its consumer never sees.
 */
const GET_RECORDS_LIMIT = 1000;
/** How long one GetRecords may take before the poller gives up on it and reads again. */
const GET_RECORDS_TIMEOUT_MS = 10_000;

/** Reads every shard of a stream in order and invokes the function with ordered batches of the matching records. */
export class StreamEventSource {
  private readonly streams = new DynamoDBStreamsClient({ region: region() });
  private readonly stopping = abortController();
  private readonly shards = new Map<string, Promise<void>>();
  private discovery: Promise<void> | undefined;

  constructor(private readonly options: StreamSourceOptions) {
    const n = options.parallelization ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`parallelization must be a whole number of at least 1, not ${n}`);
  }

  start(): void {
    this.discovery = this.discover();
  }

  private async discover(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      try {
        const out = await this.streams.send(new DescribeStreamCommand({ StreamArn: this.options.streamArn }));
        for (const shard of out.StreamDescription?.Shards ?? []) {
          const id = shard.ShardId as string;
          if (!this.shards.has(id)) this.shards.set(id, this.readShard(id));
        }
      } catch (error) {
        if (!signal.aborted) this.options.onError?.(error);
      }
      await pause(5000, signal);
    }
  }

  private async iterator(shardId: string, at?: string): Promise<string | undefined> {
    const out = await this.streams.send(
      new GetShardIteratorCommand({
        StreamArn: this.options.streamArn,
        ShardId: shardId,
        ShardIteratorType: at ? 'AT_SEQUENCE_NUMBER' : 'TRIM_HORIZON',
        SequenceNumber: at,
      }),
    );
    return out.ShardIterator;
  }

  private async readShard(shardId: string): Promise<void> {
    const { signal } = this.stopping;
    const interval = this.options.pollIntervalMs ?? 250;
    let iterator = await this.iterator(shardId);
    while (iterator && !signal.aborted) {
      let records: _Record[];
      let next: string | undefined;
      const polledAt = Date.now();
      try {
        // Bounded: a read that never answers would hold the shard for good (Lambda's poller retries).
        const out = await this.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }), {
          abortSignal: AbortSignal.timeout(GET_RECORDS_TIMEOUT_MS),
        });
        records = out.Records ?? [];
        next = out.NextShardIterator;
      } catch (error) {
        if (signal.aborted) return;
        this.options.onError?.(error);
        await pause(500, signal);
        continue;
      }
      // The page's matching records in order (per item, when in several sequences), a batch at a
      // time; a failure is retried from its record.
      const selected = records.filter(this.options.filter);
      const failedFrom = await deliverInSequences(selected, this.options.parallelization ?? 1, this.options.batchSize, (batch) =>
        this.deliver(batch),
      );
      if (failedFrom) {
        iterator = await this.iterator(shardId, failedFrom);
        await pause(200, signal);
        continue;
      }
      iterator = next;
      // Lambda polls a shard at a base rate of 4 a second and resumes as soon as an invocation
      // succeeds: the next poll is due a base interval after this one began, not after the
      // invocation ended (which would poll a busy shard less often than AWS does).
      if (records.length < GET_RECORDS_LIMIT) await pause(Math.max(0, interval - (Date.now() - polledAt)), signal);
    }
  }

  /** Returns the sequence number to retry from, if the invocation reported (or was) a failure. */
  private async deliver(records: _Record[]): Promise<string | undefined> {
    const event = { Records: records as unknown as DynamoDBRecord[] };
    try {
      const response = await this.options.invoke(event);
      return response?.batchItemFailures?.[0]?.itemIdentifier;
    } catch (error) {
      this.options.onError?.(error);
      return records[0].dynamodb?.SequenceNumber;
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.discovery;
    await Promise.allSettled(this.shards.values());
    this.streams.destroy();
  }
}
