import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DISPATCH_FILTER_PATTERN } from '#core/dispatch.ts';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { acknowledge } from './nag.ts';
import { laneEnvironment } from './priority-lanes.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';

export interface DispatcherProps {
  readonly table: ITable;
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  /**
   * Stream records per invocation: bigger batches mean fewer invocations and fuller SendMessageBatch calls.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Wait this long to fill a batch (adds this much start latency, saves invocations under load).
   * @default Duration.seconds(0)
   */
  readonly batchingWindow?: Duration;
}

/** Stream → lane queues. Filtered at the source so only tasks entering QUEUED invoke it. */
export class Dispatcher extends Construct {
  readonly handler: SluiceFunction;
  /** Where stream records land when sending their messages failed past every retry. */
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    const environment = laneEnvironment(props.lanes);
    // Stream records the dispatcher could not send after every retry: their tasks are still in the
    // table (the sweeper's index does not hold QUEUED tasks, so this queue is alarmed).
    this.failures = new Queue(this, 'Failures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const id of ['Serverless::Serverless-SQSRedrivePolicy', 'AwsSolutions::AwsSolutions-SQS3']) {
      acknowledge(this.failures, id, 'This is itself a dead-letter queue: the failure destination of the stream mapping.');
    }
    this.handler = new SluiceFunction(this, 'Dispatcher', {
      entry: handlerEntry('dispatcher'),
      description: 'Sluice dispatcher: stream to lane queues',
      timeout: Duration.seconds(30),
      environment,
    });
    for (const lane of LANE_NAMES) props.lanes[lane].grantSendMessages(this.handler);
    this.handler.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 100,
        maxBatchingWindow: props.batchingWindow ?? Duration.seconds(0),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 1000,
        filters: [FilterCriteria.filter(DISPATCH_FILTER_PATTERN as unknown as Record<string, unknown>)],
        onFailure: new SqsDlq(this.failures),
      }),
    );
  }
}
