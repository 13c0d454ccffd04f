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
import { LANE_NAMES, LANES, type LaneName, watchedBySweeper } from '#core/lanes.ts';
import { METRIC_NAMESPACE, METRICS, type MetricName } from '#core/metrics.ts';
import { metricServiceOf } from './sluice-function.ts';

export interface ObservabilityProps {
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  readonly worker: IFunction;
  /** The sweeper, whose `Attention` metric one alarm reads, and whose own failures another. */
  readonly sweeper: IFunction;
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Recurring schedules: their group and failure queue (the dashboard's schedule widgets). */
  readonly schedules?: { readonly group: IScheduleGroup; readonly failures: IQueue };
  /**
   * Alarm when the critical lane's oldest message is older than this many seconds (the other
   * lanes' waits the sweeper watches: their `behindSeconds` in #core/lanes.ts).
   * @default 120 (the critical lane's `behindSeconds`)
   */
  readonly criticalMaxAgeSeconds?: number;
  /**
   * Alarm when worker invocations fail (infrastructure errors, not task errors) more than this many
   * times in 5 minutes.
   * @default 5
   */
  readonly workerErrorsPer5Minutes?: number;
  /**
   * A CloudWatch dashboard of lanes, outcomes and functions ($3.00 a month beyond an account's
   * first three; the console and GET /stats show the lanes and outcomes without it).
   * @default false
   */
  readonly dashboard?: boolean;
}

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
    for (const [prop, value] of Object.entries({
      criticalMaxAgeSeconds: props.criticalMaxAgeSeconds,
      workerErrorsPer5Minutes: props.workerErrorsPer5Minutes,
    })) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new Error(`Observability: ${prop} must be a whole number of at least 0, got ${value}`);
      }
    }
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
    // Each alarm costs $0.10 a month per metric it reads: four metrics watch everything.
    // What the sweeper finds (dead letters, failure queues holding messages, lanes falling behind,
    // many recoveries) is one metric, emitted only when there is something: one alarm for all.
    alarm('NeedsAttention', {
      alarmDescription:
        "The sweeper found something to look at: its log's 'needs attention' lines and the metric's reason dimension say what (dead-letter, dispatch-failures, schedule-failures, lane-behind, recoveries)",
      metric: sluiceMetric(service, 'Attention').with({ period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    // A sweeper that cannot work sends none of that: its invocations fail (it fails a pass with a
    // failed step too). Fifteen minutes of failures, so one throttled pass pages nobody.
    alarm('SweeperFailing', {
      alarmDescription: 'The sweeper has failed for 15 minutes: no recoveries, dead letters or attention signals meanwhile',
      metric: props.sweeper.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    for (const lane of LANES.filter((l) => !watchedBySweeper(l))) {
      alarm(`${lane.name}OldestMessage`, {
        alarmDescription: `The ${lane.name} lane is falling behind`,
        metric: props.lanes[lane.name].metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: (lane.name === 'critical' ? props.criticalMaxAgeSeconds : undefined) ?? lane.behindSeconds,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
    }
    alarm('WorkerErrors', {
      alarmDescription: 'Worker invocations failing (infrastructure errors, not task errors: a broken deploy, timeouts, out of memory)',
      metric: props.worker.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: props.workerErrorsPer5Minutes ?? 5,
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
          sluiceMetric(service, 'Attention').with({ label: 'needs attention' }),
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
