import { type CfnElement, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type CfnLogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { LaneName } from '#core/lanes.ts';
import { DEFAULT_RECOVERY_SECONDS } from '#core/limits.ts';
import { checkSettingProp, settingsEnvironment } from '#core/settings.ts';
import { Dispatcher } from './dispatcher.ts';
import { type ApiAuth, IntakeApi } from './intake-api.ts';
import { LongJobs, type LongJobsProps } from './long-jobs.ts';
import { acknowledge, acknowledgeFunctionDefaults, acknowledgeTableIndexes } from './nag.ts';
import { Observability } from './observability.ts';
import { PriorityLanes } from './priority-lanes.ts';
import { RecurringSchedules } from './schedules.ts';
import { SluiceFunction } from './sluice-function.ts';
import { Sweeper } from './sweeper.ts';
import { TaskTable } from './task-table.ts';
import { Workers } from './workers.ts';

export interface TaskSchedulerProps {
  /**
   * How API callers authenticate.
   * @default { kind: 'iam' } (SigV4)
   */
  readonly auth?: ApiAuth;
  /**
   * A CloudWatch dashboard of lanes, outcomes and functions: $3.00 a month beyond an account's
   * first three, which the default spares (the console and GET /stats show lanes and outcomes).
   * @default false
   */
  readonly dashboard?: boolean;
  /**
   * Concurrent worker invocations per lane.
   * @default the lane definitions in functions/core/lanes.ts (critical 20, high 20, normal 10, low 5)
   */
  readonly laneConcurrency?: Partial<Record<LaneName, number>>;
  /**
   * Removal policy of the task table.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Worker function memory in MB.
   * @default 256
   */
  readonly workerMemorySize?: number;
  /**
   * Long jobs in Fargate containers; `false` leaves them out (container tasks are then refused at intake).
   * @default {} (a new VPC without NAT, 1 vCPU / 2 GiB ARM containers, at most 10 at once)
   */
  readonly longJobs?: Omit<LongJobsProps, 'table' | 'lane' | 'recoverySeconds'> | false;
  /**
   * The recovery bound, in seconds: a task whose worker dies runs again (or fails as poison, with
   * its reason) within it. Lane visibility timeouts and attempt leases derive from it; a shorter
   * bound costs more heartbeat requests for long tasks. A whole number from 10 to 3600.
   * @default 60
   */
  readonly recoverySeconds?: number;
  /**
   * How long every function's log group keeps its logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Tasks one tenant may run at once when it has no limit of its own (`PUT /limits/tenant/{key}`).
   * A whole number of at least 1.
   * @default unlimited
   */
  readonly tenantConcurrency?: number;
  /**
   * Partition keys per day that new tasks are spread over: each key takes at most 1,000 write
   * units a second (a task makes about three), and every listing page makes one Query per shard
   * for each day it walks. Only raise it on a live deployment: listings query the current count,
   * so lowering it hides the tasks of the higher shards from them. A whole number from 1 to 128.
   * @default 8
   */
  readonly writeShards?: number;
  /**
   * The API stage's throttling: steady requests a second and burst. Each single submit is a
   * request; a batch submit takes up to 100 tasks in one. The stage cannot go past the account's
   * regional quota (10,000 a second by default, raised through Service Quotas).
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Recoveries in one sweeper pass (a minute) beyond which the attention alarm goes off:
   * containers dying, launches failing, workers lost.
   * @default 2
   */
  readonly recoveriesPerPass?: number;
}

/** Sluice as one construct: table, lanes, API, dispatcher, workers and recurring schedules, wired together. */
export class TaskScheduler extends Construct {
  readonly table: TaskTable;
  readonly lanes: PriorityLanes;
  readonly api: IntakeApi;
  readonly dispatcher: Dispatcher;
  readonly workers: Workers;
  readonly sweeper: Sweeper;
  readonly longJobs: LongJobs | undefined;
  readonly schedules: RecurringSchedules;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: TaskSchedulerProps = {}) {
    super(scope, id);
    const recoverySeconds = props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS;
    if (!Number.isInteger(recoverySeconds) || recoverySeconds < 10 || recoverySeconds > 3600) {
      throw new Error(`TaskScheduler: recoverySeconds must be a whole number from 10 to 3600, got ${recoverySeconds}`);
    }
    const { tenantConcurrency } = props;
    if (tenantConcurrency !== undefined && (!Number.isInteger(tenantConcurrency) || tenantConcurrency < 1)) {
      throw new Error(`TaskScheduler: tenantConcurrency must be a whole number of at least 1, got ${tenantConcurrency}`);
    }
    const { writeShards, apiThrottling } = props;
    checkSettingProp('TaskScheduler', 'writeShards', 'writeShards', writeShards);
    if (apiThrottling && ![apiThrottling.rateLimit, apiThrottling.burstLimit].every((n) => Number.isInteger(n) && n >= 1)) {
      throw new Error(`TaskScheduler: apiThrottling takes whole numbers of at least 1, got ${JSON.stringify(apiThrottling)}`);
    }
    this.table = new TaskTable(this, 'Tasks', { removalPolicy: props.tableRemovalPolicy });
    this.lanes = new PriorityLanes(this, 'Lanes');
    this.longJobs =
      props.longJobs === false
        ? undefined
        : new LongJobs(this, 'LongJobs', { ...props.longJobs, table: this.table.table, lane: this.lanes.queues.long, recoverySeconds });
    this.dispatcher = new Dispatcher(this, 'Dispatch', { table: this.table.table, lanes: this.lanes.queues, tenantConcurrency });
    this.workers = new Workers(this, 'Work', {
      table: this.table.table,
      lanes: this.lanes.queues,
      laneConcurrency: props.laneConcurrency,
      memorySize: props.workerMemorySize,
      recoverySeconds,
    });
    this.schedules = new RecurringSchedules(this, 'Schedules', { table: this.table.table, containers: this.longJobs !== undefined });
    const laneMappings = { ...this.workers.mappings, ...(this.longJobs ? { long: this.longJobs.mapping } : {}) };
    this.api = new IntakeApi(this, 'Api', {
      table: this.table.table,
      lanes: this.lanes,
      auth: props.auth,
      containers: this.longJobs !== undefined,
      tenantConcurrency,
      throttling: apiThrottling,
      laneMappings,
    });
    this.sweeper = new Sweeper(this, 'Sweep', {
      table: this.table.table,
      lanes: this.lanes.queues,
      longJobs: this.longJobs,
      recoverySeconds,
      laneMappings,
      deadLetterQueues: this.lanes.deadLetterQueues,
      failureQueues: { 'dispatch-failures': this.dispatcher.failures, 'schedule-failures': this.schedules.failures },
      recoveriesPerPass: props.recoveriesPerPass,
    });

    this.observability = new Observability(this, 'Observability', {
      lanes: this.lanes.queues,
      dashboard: props.dashboard,
      worker: this.workers.handler,
      sweeper: this.sweeper.handler,
      schedules: this.schedules,
      functions: {
        intake: this.api.handler,
        operations: this.api.operations,
        dispatcher: this.dispatcher.handler,
        worker: this.workers.handler,
        sweeper: this.sweeper.handler,
        scheduleFire: this.schedules.fire,
        scheduleSync: this.schedules.sync,
        ...(this.longJobs ? { launcher: this.longJobs.launcher } : {}),
      },
    });

    // One setting for every function's log group (each SluiceFunction declares its own), and the
    // write shards for every function: ids, listings and reconciliation must agree on the count.
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const shardEnvironment = Object.entries(settingsEnvironment({ writeShards }));
    for (const fn of this.node.findAll().filter((c): c is SluiceFunction => c instanceof SluiceFunction)) {
      (fn.logs.node.defaultChild as CfnLogGroup).retentionInDays = retention;
      for (const [name, value] of shardEnvironment) fn.addEnvironment(name, value);
    }

    acknowledgeFunctionDefaults(this);
    acknowledgeTableIndexes(this, Stack.of(this).getLogicalId(this.table.table.node.defaultChild as CfnElement));
    for (const fn of [this.workers.handler, ...(this.longJobs ? [this.longJobs.launcher] : [])]) {
      acknowledge(
        fn,
        'Serverless::Serverless-LambdaEventSourceMappingDestination',
        'SQS event source mappings take no failure destination: a message that keeps failing goes to its queue’s DLQ by the redrive policy.',
      );
    }
  }
}
