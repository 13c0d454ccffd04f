import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SCHEDULER_TARGET_ENV } from '#core/config.ts';
import { SCHEDULE_FIRE_TIMEOUT_SECONDS, SCHEDULE_SYNC_TIMEOUT_SECONDS } from '#core/limits.ts';
import { REPAIR_EVENT, SCHEDULE_SYNC_FILTER_PATTERN } from '#core/schedule-sync.ts';
import { acknowledge, nagRendering } from './nag.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';

export interface RecurringSchedulesProps {
  /** The task table (it holds the schedule items); it must have a stream. */
  readonly table: ITable;
  /**
   * Whether the deployment runs containers: ticks of a container task's schedule are refused without them.
   * @default false
   */
  readonly containers?: boolean;
}

/** How often the repair pass runs. */
const REPAIR_INTERVAL = Duration.minutes(5);

/** The table actions a tick uses: read the schedule, its book, the previous task and the limits; write the task and the run. */
const FIRE_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/**
 * Recurring schedules on EventBridge Scheduler: the stack's schedule group, the fire function its
 * schedules invoke, the role they invoke it with, the queue of ticks that failed, and the sync
 * function that keeps the group in line with the schedule items (from the table's stream). The
 * sync function also runs the repair pass, on a rule of its own.
 */
export class RecurringSchedules extends Construct {
  readonly group: ScheduleGroup;
  /** ARN of the group, built from its name: policies and the trust condition need no reference to the resource. */
  readonly groupArn: string;
  /** The Scheduler target: one tick → at most one task. */
  readonly fire: SluiceFunction;
  /** What Scheduler assumes to invoke the fire function (and to dead-letter a tick). */
  readonly targetRole: Role;
  /**
   * Schedule work that failed past every retry: ticks Scheduler could not deliver, ticks the fire
   * function kept failing on, and stream records the sync gave up on (the repair pass
   * re-applies those schedules). Alarmed by Observability.
   */
  readonly failures: Queue;
  /** The table's stream (schedule items only) → the group's schedules; also the repair pass. */
  readonly sync: SluiceFunction;
  /** Runs the repair pass (REPAIR_EVENT) every REPAIR_INTERVAL. */
  readonly repair: Rule;
  /** SCHEDULE_GROUP, SCHEDULE_FUNCTION_ARN, SCHEDULE_ROLE_ARN, SCHEDULE_DLQ_ARN: what the sync and the repair read. */
  readonly environment: Readonly<Record<string, string>>;
  private readonly schedulesArn: string;

  constructor(scope: Construct, id: string, props: RecurringSchedulesProps) {
    super(scope, id);
    if (!props.table.tableStreamArn) throw new Error('RecurringSchedules: the table must have a stream (the sync function reads it)');
    const stack = Stack.of(this);

    // Deleting the stack deletes the group, and with it every schedule Sluice created in it.
    this.group = new ScheduleGroup(this, 'Group', { removalPolicy: RemovalPolicy.DESTROY });
    this.groupArn = stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: this.group.scheduleGroupName });
    this.schedulesArn = stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.group.scheduleGroupName}/*` });

    this.failures = new Queue(this, 'Failures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const rule of ['Serverless::Serverless-SQSRedrivePolicy', 'AwsSolutions::AwsSolutions-SQS3']) {
      acknowledge(this.failures, rule, 'This is itself a dead-letter queue: of schedule ticks and of the sync’s stream mapping.');
    }

    this.fire = new SluiceFunction(this, 'Fire', {
      entry: handlerEntry('schedule-fire'),
      description: 'Sluice schedule fire: one tick to at most one task',
      timeout: Duration.seconds(SCHEDULE_FIRE_TIMEOUT_SECONDS),
      tableAccess: { table: props.table, actions: FIRE_TABLE_ACTIONS },
      environment: props.containers ? { SLUICE_CONTAINERS: 'enabled' } : {},
      // Scheduler invokes Lambda asynchronously: once Lambda has accepted a tick, a thrown error is
      // retried by Lambda (twice), not by Scheduler; after that the tick lands here.
      deadLetterQueue: this.failures,
    });

    this.targetRole = new Role(this, 'TargetRole', {
      description: 'Sluice schedules: EventBridge Scheduler invokes the fire function with it',
      // Only schedules of this group, in this account (the group's ARN, as Scheduler's confused-deputy guidance has it).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.groupArn },
      }),
    });
    // Schedules target the unqualified function: no version or alias ARNs.
    this.targetRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fire.functionArn] }));
    this.targetRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.failures.queueArn] }));

    const target: Record<keyof typeof SCHEDULER_TARGET_ENV, string> = {
      group: this.group.scheduleGroupName,
      functionArn: this.fire.functionArn,
      roleArn: this.targetRole.roleArn,
      deadLetterArn: this.failures.queueArn,
    };
    this.environment = Object.fromEntries(
      (Object.keys(SCHEDULER_TARGET_ENV) as (keyof typeof SCHEDULER_TARGET_ENV)[]).map((k) => [SCHEDULER_TARGET_ENV[k], target[k]]),
    );

    this.sync = new SluiceFunction(this, 'Sync', {
      entry: handlerEntry('schedule-sync'),
      description: 'Sluice schedule sync: schedule items to EventBridge Scheduler',
      timeout: Duration.seconds(SCHEDULE_SYNC_TIMEOUT_SECONDS),
      // GetItem for a changed schedule, Query for the repair pass's list of them.
      tableAccess: { table: props.table, actions: ['dynamodb:GetItem', 'dynamodb:Query'] },
    });
    this.grantScheduleWrites(this.sync);
    this.grantRepair(this.sync);
    // The repair pass: what the stream missed, every few minutes (in this function, not the
    // sweeper, whose bundle would otherwise carry the Scheduler client and cron past 400 KB).
    this.repair = new Rule(this, 'Repair', { schedule: Schedule.rate(REPAIR_INTERVAL) });
    this.repair.addTarget(
      new LambdaFunction(this.sync, { event: RuleTargetInput.fromObject(REPAIR_EVENT), retryAttempts: 2, deadLetterQueue: this.failures }),
    );
    // The stream's second reader (after the dispatcher): DynamoDB Streams serves at most two per shard without throttling.
    const stream = new DynamoEventSource(props.table, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      // Each record costs up to three Scheduler calls; the sync rereads the item, so order and replays do not matter.
      batchSize: 10,
      bisectBatchOnError: false,
      reportBatchItemFailures: true,
      // Bounded: the repair pass re-applies within five minutes any schedule the stream gave up on.
      retryAttempts: 10,
      filters: [FilterCriteria.filter(SCHEDULE_SYNC_FILTER_PATTERN as unknown as Record<string, unknown>)],
      onFailure: new SqsDlq(this.failures),
    });
    this.sync.addEventSource(stream);
  }

  /** The repair pass lists the group's schedules (ListSchedules takes no resource). */
  private grantRepair(fn: SluiceFunction): void {
    this.grantScheduleWrites(fn);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['scheduler:ListSchedules'], resources: ['*'] }));
    acknowledge(
      fn,
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'scheduler:ListSchedules supports no resource-level permissions; the repair pass lists only Sluice’s group (GroupName).',
    );
  }

  /** The environment, CreateSchedule/UpdateSchedule/DeleteSchedule on this group's schedules, and PassRole of the target role. */
  private grantScheduleWrites(fn: SluiceFunction): void {
    for (const [name, value] of Object.entries(this.environment)) fn.addEnvironment(name, value);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
        resources: [this.schedulesArn],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.targetRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    acknowledge(
      fn,
      `AwsSolutions::AwsSolutions-IAM5[Resource::${nagRendering(this, this.schedulesArn)}]`,
      'Schedules are created at run time, one per schedule item: the grant covers the schedules of Sluice’s own group only.',
    );
    // The group is referenced by name only: CloudFormation must still create it before anything writes schedules to it.
    fn.node.addDependency(this.group);
  }
}
