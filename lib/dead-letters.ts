import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';

export interface DeadLettersProps {
  readonly table: ITable;
  readonly deadLetterQueues: Readonly<Record<LaneName, IQueue>>;
}

/** Drains every lane's DLQ: a task whose message kept crashing its worker ends FAILED (`poison`). */
export class DeadLetters extends Construct {
  readonly handler: SluiceFunction;

  constructor(scope: Construct, id: string, props: DeadLettersProps) {
    super(scope, id);
    this.handler = new SluiceFunction(this, 'DeadLetter', {
      entry: handlerEntry('dead-letter'),
      description: 'Sluice dead letters: marks poison tasks FAILED',
      timeout: Duration.seconds(30),
      // Its cap is its own reserved concurrency, not the mappings' MaximumConcurrency: with that
      // set AWS keeps 5 pollers per idle mapping, without it as few as 2 (SQS requests idle).
      reservedConcurrentExecutions: 2,
      tableAccess: { table: props.table, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'] },
    });
    for (const lane of LANE_NAMES) {
      this.handler.addEventSource(new SqsEventSource(props.deadLetterQueues[lane], { batchSize: 10, reportBatchItemFailures: true }));
    }
  }
}
