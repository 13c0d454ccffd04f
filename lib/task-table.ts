import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TASK_TABLE } from '#core/table.ts';

export interface TaskTableProps {
  /**
   * What happens to the table (and every task's history) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Task state and history: on-demand, streamed to the dispatcher, encrypted, point-in-time recoverable. */
export class TaskTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: TaskTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TASK_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TASK_TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      stream: StreamViewType[TASK_TABLE.streamViewType],
      timeToLiveAttribute: TASK_TABLE.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TASK_TABLE.sweepIndex.name,
      partitionKey: { name: TASK_TABLE.sweepIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TASK_TABLE.sweepIndex.sortKey, type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }
}
