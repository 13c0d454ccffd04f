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
  /**
   * Reserved concurrency for the dead-letter function (its cap). A reservation fails to deploy in
   * an account whose concurrency quota is at its minimum (new accounts), so none by default; dead
   * letters are rare and their handling is a few writes.
   * @default none (the mappings set no MaximumConcurrency either: AWS keeps 2 idle pollers a mapping, not 5)
   */
  readonly reservedConcurrency?: number;
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
      // No MaximumConcurrency on its mappings: with one AWS keeps 5 pollers per idle mapping,
      // without as few as 2 (SQS requests idle). A cap, if wanted, is a reservation.
      reservedConcurrentExecutions: props.reservedConcurrency,
      tableAccess: { table: props.table, actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'] },
    });
    for (const lane of LANE_NAMES) {
      this.handler.addEventSource(new SqsEventSource(props.deadLetterQueues[lane], { batchSize: 10, reportBatchItemFailures: true }));
    }
  }
}
