import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DISPATCHER_FILTER_PATTERNS, DISPATCHER_STREAM_MAPPING, DISPATCHER_TIMEOUT_SECONDS } from '#core/dispatch.ts';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { settingsEnvironment } from '#core/settings.ts';
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
  /**
   * Tasks one tenant may run at once without a limit of its own.
   * @default unlimited
   */
  readonly tenantConcurrency?: number;
}

/** Stream → lane queues. Filtered at the source so only tasks entering QUEUED invoke it. */
export class Dispatcher extends Construct {
  readonly handler: SluiceFunction;
  /** Where stream records land when sending their messages failed past every retry. */
  readonly failures: Queue;

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    const environment = {
      ...laneEnvironment(props.lanes),
      ...settingsEnvironment({ tenantConcurrency: props.tenantConcurrency }),
    };
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
      timeout: Duration.seconds(DISPATCHER_TIMEOUT_SECONDS),
      environment,
      // Admission: limit definitions (Query), slots and their waiters (written and removed in
      // batches: BatchWriteItem; the waiting tasks read in batches: BatchGetItem), parking and waking tasks.
      tableAccess: {
        table: props.table,
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
        ],
      },
    });
    for (const lane of LANE_NAMES) props.lanes[lane].grantSendMessages(this.handler);
    this.handler.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? DISPATCHER_STREAM_MAPPING.batchSize,
        parallelizationFactor: DISPATCHER_STREAM_MAPPING.parallelizationFactor,
        maxBatchingWindow: props.batchingWindow ?? Duration.seconds(0),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 1000,
        filters: DISPATCHER_FILTER_PATTERNS.map((pattern) => FilterCriteria.filter(pattern as unknown as Record<string, unknown>)),
        onFailure: new SqsDlq(this.failures),
      }),
    );
  }
}
