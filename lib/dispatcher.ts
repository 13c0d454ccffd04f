import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DISPATCH_FILTER_PATTERN } from '#core/dispatch.ts';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
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

  constructor(scope: Construct, id: string, props: DispatcherProps) {
    super(scope, id);
    const environment = laneEnvironment(props.lanes);
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
      }),
    );
  }
}
