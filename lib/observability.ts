import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { METRIC_NAMESPACE, METRICS, type MetricName } from '#core/metrics.ts';
import { metricServiceOf } from './sluice-function.ts';

export interface ObservabilityProps {
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  /** Stream records the dispatcher gave up on. */
  readonly dispatchFailures: IQueue;
  readonly worker: IFunction;
  /** The dead-letter function, whose failures (it cannot run at all) get an alarm of their own. @default none */
  readonly deadLetter?: IFunction;
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Recurring schedules: their group (Scheduler's delivery metrics) and the queue of schedule work that failed. */
  readonly schedules?: { readonly group: IScheduleGroup; readonly failures: IQueue };
  /**
   * Alarm when a lane's oldest message is older than this many seconds.
   * @default critical 120, high 600, normal 1800, low 3600, long 3600
   */
  readonly maxMessageAgeSeconds?: Partial<Record<LaneName, number>>;
  /**
   * Alarm when more than this percentage of worker invocations fail (over 5 minutes).
   * @default 5
   */
  readonly workerErrorRatePercent?: number;
  /**
   * Alarm when the sweeper recovers more than this many tasks in 5 minutes.
   * @default 10
   */
  readonly recoveriesPer5Minutes?: number;
  /**
   * A CloudWatch dashboard of lanes, outcomes and functions ($3.00 a month beyond an account's
   * first three; the console and GET /stats show the lanes and outcomes without it).
   * @default false
   */
  readonly dashboard?: boolean;
}

const DEFAULT_AGE: Record<LaneName, number> = { critical: 120, high: 600, normal: 1800, low: 3600, long: 3600 };

/**
 * A metric Sluice emits, read under one of the dimension sets it is emitted with (#core/metrics.ts):
 * any other set would be a different metric, one no function ever publishes.
 */
export function sluiceMetric(service: string, name: MetricName, dimensions: Record<string, string> = {}, statistic = 'Sum'): Metric {
  const keys = Object.keys(dimensions).sort().join(',');
  if (!METRICS[name].dimensionSets.some((set) => [...set].sort().join(',') === keys)) {
    throw new Error(`metric ${name} is not emitted with dimensions [${keys}]`);
  }
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { service, ...dimensions },
    statistic,
    period: Duration.minutes(1),
  });
}

/** A dashboard search over every value of a metric's dimension set. */
function searchMetric(service: string, name: MetricName, set: readonly string[]): string {
  if (!METRICS[name].dimensionSets.some((s) => s.join(',') === set.join(','))) throw new Error(`metric ${name} has no set [${set}]`);
  return `SUM(SEARCH('{${[METRIC_NAMESPACE, 'service', ...set].join(',')}} MetricName="${name}" service="${service}"', 'Sum', 60))`;
}

/** Alarms (to one SNS topic) and a dashboard: what an on-call person needs to see Sluice's health. */
export class Observability extends Construct {
  readonly topic: Topic;
  /** The topic's key: a customer-managed key, because CloudWatch cannot use the AWS-managed SNS key. */
  readonly topicKey: Key;
  /** Only when `dashboard` is set. */
  readonly dashboard: Dashboard | undefined;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const service = metricServiceOf(this);
    // CloudWatch must encrypt what it publishes: the AWS-managed key alias/aws/sns cannot grant it
    // that (its policy is AWS's), so alarms on such a topic change state and notify no one.
    // It only encrypts notifications in flight: it goes with the stack (after KMS's 7-day wait).
    this.topicKey = new Key(this, 'AlarmKey', {
      description: 'Sluice alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'Alarms', { displayName: 'Sluice alarms', masterKey: this.topicKey, enforceSSL: true });
    // Alarm actions publish as the CloudWatch service; enforceSSL only denies plain-HTTP publishes.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    const alarm = (name: string, a: ConstructorParameters<typeof Alarm>[2]) => {
      const created = new Alarm(this, name, { treatMissingData: TreatMissingData.NOT_BREACHING, ...a });
      created.addAlarmAction(new SnsAction(this.topic));
      this.alarms.push(created);
    };
    // The dead-letter function drains the DLQs within seconds and counts each message it receives,
    // handled or not (DeadLettered, service-wide total): one alarm on that instead of one per DLQ
    // (each alarm metric costs $0.10 a month). A function that cannot run at all emits nothing:
    // the dead-letter errors alarm below covers that; the DLQs keep their messages 14 days.
    alarm('DeadLetters', {
      alarmDescription: "Messages reached a lane's DLQ: tasks whose worker kept crashing (the task's lane is the metric's lane dimension)",
      metric: sluiceMetric(service, 'DeadLettered').with({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    for (const lane of LANE_NAMES) {
      alarm(`${lane}OldestMessage`, {
        alarmDescription: `The ${lane} lane is falling behind`,
        metric: props.lanes[lane].metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: props.maxMessageAgeSeconds?.[lane] ?? DEFAULT_AGE[lane],
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
    }
    // A failure queue nothing drains: alarm while it holds anything (it receives nothing, so
    // NumberOfMessagesReceived would stay at 0), until someone has looked.
    const alarmWhileWaiting = (name: string, queue: IQueue, alarmDescription: string) =>
      alarm(name, {
        alarmDescription,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    alarmWhileWaiting(
      'DispatchFailures',
      props.dispatchFailures,
      'The dispatcher gave up on stream records: queued tasks without a message',
    );
    if (props.schedules) {
      alarmWhileWaiting(
        'ScheduleFailures',
        props.schedules.failures,
        'Schedule ticks that created no task (undeliverable, or the fire function kept failing), or schedule changes the sync gave up on',
      );
    }
    if (props.deadLetter) {
      alarm('DeadLetterErrors', {
        alarmDescription: 'The dead-letter function fails (it cannot start, or times out): dead letters wait in their DLQ',
        metric: props.deadLetter.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }
    alarm('WorkerErrorRate', {
      alarmDescription: 'Worker invocations failing (infrastructure errors, not task errors)',
      metric: new MathExpression({
        expression: '100 * errors / MAX([invocations, 1])',
        usingMetrics: { errors: props.worker.metricErrors(), invocations: props.worker.metricInvocations() },
        period: Duration.minutes(5),
      }),
      threshold: props.workerErrorRatePercent ?? 5,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm('SweeperRecoveries', {
      alarmDescription: 'The sweeper is recovering many tasks: containers dying or launches failing',
      metric: sluiceMetric(service, 'Recovered').with({ period: Duration.minutes(5) }),
      threshold: props.recoveriesPer5Minutes ?? 10,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.dashboard = props.dashboard ? this.buildDashboard(props) : undefined;
    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn, description: 'Subscribe to receive Sluice alarms' });
  }

  private buildDashboard(props: ObservabilityProps): Dashboard {
    const service = metricServiceOf(this);
    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new TextWidget({ markdown: '# Sluice\nLanes, outcomes and the functions behind them.', width: 24, height: 2 }),
      new GraphWidget({
        title: 'Messages waiting per lane',
        width: 12,
        left: LANE_NAMES.map((l) => props.lanes[l].metricApproximateNumberOfMessagesVisible({ label: l })),
      }),
      new GraphWidget({
        title: 'Oldest message per lane (s)',
        width: 12,
        left: LANE_NAMES.map((l) => props.lanes[l].metricApproximateAgeOfOldestMessage({ label: l })),
      }),
      new GraphWidget({
        title: 'Outcomes',
        width: 12,
        left: (['Submitted', 'Started', 'Succeeded', 'Failed', 'Retried', 'Cancelled'] as const).map(
          (m) => new MathExpression({ expression: searchMetric(service, m, ['lane', 'type']), label: m, period: Duration.minutes(1) }),
        ),
      }),
      new GraphWidget({
        title: 'Dead letters and recoveries',
        width: 12,
        left: LANE_NAMES.map((l) => sluiceMetric(service, 'DeadLettered', { lane: l }).with({ label: `${l} dead letters` })),
        right: [
          sluiceMetric(service, 'Recovered').with({ label: 'recovered' }),
          sluiceMetric(service, 'Reconciled').with({ label: 'reconciled' }),
        ],
      }),
      new GraphWidget({
        title: 'Function errors',
        width: 12,
        left: Object.entries(props.functions).map(([name, fn]) => fn.metricErrors({ label: name })),
      }),
      new GraphWidget({
        title: 'Function duration p99 (ms)',
        width: 12,
        left: Object.entries(props.functions).map(([name, fn]) => fn.metricDuration({ label: name, statistic: 'p99' })),
      }),
    );
    if (props.schedules) {
      const { group, failures } = props.schedules;
      const perMinute = { period: Duration.minutes(1), statistic: 'Sum' };
      dashboard.addWidgets(
        new GraphWidget({
          title: 'Schedules',
          width: 12,
          left: [
            sluiceMetric(service, 'ScheduleFired').with({ label: 'fired' }),
            sluiceMetric(service, 'ScheduleCreated').with({ label: 'created' }),
            sluiceMetric(service, 'ScheduleSkipped').with({ label: 'skipped' }),
          ],
          right: [sluiceMetric(service, 'ScheduleRepaired').with({ label: 'repaired' })],
        }),
        new GraphWidget({
          title: 'Schedule deliveries (EventBridge Scheduler)',
          width: 12,
          left: [
            group.metricAttempts({ ...perMinute, label: 'attempts' }),
            group.metricTargetErrors({ ...perMinute, label: 'target errors' }),
            group.metricSentToDLQ({ ...perMinute, label: 'sent to the failures queue' }),
            group.metricDropped({ ...perMinute, label: 'dropped' }),
          ],
          right: [failures.metricApproximateNumberOfMessagesVisible({ label: 'failures waiting' })],
        }),
      );
    }
    return dashboard;
  }
}
