import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { DEFAULT_RECOVERY_SECONDS, WORKER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { settingsEnvironment } from '#core/settings.ts';
import type { LongJobs } from './long-jobs.ts';
import { acknowledge } from './nag.ts';
import { laneEnvironment } from './priority-lanes.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';

export interface SweeperProps {
  readonly table: ITable;
  /** Lanes the sweeper looks into for aging (it receives, deletes and releases a few messages). */
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  /** Containers it recovers, when the deployment runs long jobs. */
  readonly longJobs?: LongJobs;
  /**
   * How often the sweeper runs.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;
  /**
   * The recovery bound (seconds): the reconciliation treats an attempt whose lease expired longer
   * ago than this as missed by its watchdog.
   * @default 60
   */
  readonly recoverySeconds?: number;
}

/** Promotes due SCHEDULED tasks and recovers expired leases, reading only the sparse sweep index. */
export class Sweeper extends Construct {
  readonly handler: SluiceFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    this.handler = new SluiceFunction(this, 'Sweeper', {
      entry: handlerEntry('sweeper'),
      description: 'Sluice sweeper: due tasks, expired leases, aging',
      timeout: Duration.seconds(55),
      // Query on the sweep index (the grant covers the table's indexes), reads and conditional updates.
      tableAccess: { table: props.table, actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'] },
      environment: {
        ...laneEnvironment(props.lanes),
        ...props.longJobs?.environment,
        ...settingsEnvironment({
          recoverySeconds: props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS,
          workerTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
        }),
      },
    });
    for (const lane of LANE_NAMES) props.lanes[lane].grantConsumeMessages(this.handler);
    props.longJobs?.grantTaskControl(this.handler);
    this.rule = new Rule(this, 'Schedule', { schedule: Schedule.rate(props.interval ?? Duration.minutes(1)) });
    // A failed delivery is kept for inspection; the next run a minute later does the work anyway.
    const missedRuns = new Queue(this, 'MissedRuns', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const id of ['Serverless::Serverless-SQSRedrivePolicy', 'AwsSolutions::AwsSolutions-SQS3']) {
      acknowledge(missedRuns, id, 'This is itself a dead-letter queue, for missed sweeper runs.');
    }
    this.rule.addTarget(new LambdaFunction(this.handler, { retryAttempts: 2, deadLetterQueue: missedRuns }));
  }
}
