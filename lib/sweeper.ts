import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FAILURE_QUEUE_ENV, type FailureQueue } from '#core/attention.ts';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { DEFAULT_RECOVERY_SECONDS, SWEEPER_TIMEOUT_SECONDS, WORKER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { checkSettingProp, settingsEnvironment } from '#core/settings.ts';
import type { LongJobs } from './long-jobs.ts';
import { acknowledge } from './nag.ts';
import { deadLetterEnvironment, laneEnvironment } from './priority-lanes.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';
import { type LaneMappings, useLaneMappings } from './workers.ts';

export interface SweeperProps {
  readonly table: ITable;
  /** Lanes the sweeper looks into for aging (it receives, deletes and releases a few messages). */
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  /** The lanes' DLQs, which its backstops drain (each message's task is recovered or failed). */
  readonly deadLetterQueues: Readonly<Record<LaneName, IQueue>>;
  /** Queues nothing drains, whose waiting messages its backstops report as needing attention. @default none */
  readonly failureQueues?: Readonly<Partial<Record<FailureQueue, IQueue>>>;
  /**
   * Run the backstops (the reconciliation, the DLQs, the failure queues) every this many passes.
   * @default 5 (every five minutes)
   */
  readonly backstopEveryPasses?: number;
  /**
   * Recoveries in one pass beyond which the attention metric (and its alarm) goes off.
   * @default 2
   */
  readonly recoveriesPerPass?: number;
  /**
   * The lanes' event source mappings, whose states it reads: a paused lane's tasks are not aged
   * out of it, whoever paused it (Sluice or AWS's console). @default none (no lane counts as paused)
   */
  readonly laneMappings?: LaneMappings;
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

/**
 * Promotes due SCHEDULED tasks, recovers expired leases (reading only the sparse sweep index) and
 * ages waiting tasks each pass; every few passes, the backstops: the reconciliation, the DLQs'
 * dead letters, the failure queues. What needs someone it emits as the `Attention` metric.
 */
export class Sweeper extends Construct {
  readonly handler: SluiceFunction;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    checkSettingProp('Sweeper', 'backstopEveryPasses', 'backstopEveryPasses', props.backstopEveryPasses);
    checkSettingProp('Sweeper', 'recoveriesPerPass', 'recoveriesPerPass', props.recoveriesPerPass);
    this.handler = new SluiceFunction(this, 'Sweeper', {
      entry: handlerEntry('sweeper'),
      description: 'Sluice sweeper: due tasks, expired leases, aging',
      timeout: Duration.seconds(SWEEPER_TIMEOUT_SECONDS),
      // Query on the sweep index (the grant covers the table's indexes), reads and conditional updates.
      tableAccess: { table: props.table, actions: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'] },
      environment: {
        ...laneEnvironment(props.lanes),
        ...props.longJobs?.environment,
        ...deadLetterEnvironment(props.deadLetterQueues),
        ...Object.fromEntries(
          (Object.entries(props.failureQueues ?? {}) as [FailureQueue, IQueue][]).map(([queue, q]) => [
            FAILURE_QUEUE_ENV[queue],
            q.queueUrl,
          ]),
        ),
        ...settingsEnvironment({
          recoverySeconds: props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS,
          workerTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
          backstopEveryPasses: props.backstopEveryPasses,
          recoveriesPerPass: props.recoveriesPerPass,
        }),
      },
    });
    for (const lane of LANE_NAMES) {
      props.lanes[lane].grantConsumeMessages(this.handler);
      props.deadLetterQueues[lane].grantConsumeMessages(this.handler);
    }
    for (const queue of Object.values(props.failureQueues ?? {})) queue?.grant(this.handler, 'sqs:GetQueueAttributes');
    props.longJobs?.grantTaskControl(this.handler);
    useLaneMappings(this.handler, props.laneMappings ?? {}, ['lambda:GetEventSourceMapping']);
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
