import { CfnOutput, Duration } from 'aws-cdk-lib';
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
import { Alias } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';

export interface ObservabilityProps {
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  readonly deadLetterQueues: Readonly<Record<LaneName, IQueue>>;
  /** Stream records the dispatcher gave up on. */
  readonly dispatchFailures: IQueue;
  readonly worker: IFunction;
  readonly functions: Readonly<Record<string, IFunction>>;
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
}

const DEFAULT_AGE: Record<LaneName, number> = { critical: 120, high: 600, normal: 1800, low: 3600, long: 3600 };
const metric = (name: string, dimensions: Record<string, string> = {}, statistic = 'Sum') =>
  new Metric({
    namespace: 'Sluice',
    metricName: name,
    dimensionsMap: { service: 'sluice', ...dimensions },
    statistic,
    period: Duration.minutes(1),
  });

/** Alarms (to one SNS topic) and a dashboard: what an on-call person needs to see Sluice's health. */
export class Observability extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', {
      displayName: 'Sluice alarms',
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    const alarm = (name: string, a: ConstructorParameters<typeof Alarm>[2]) => {
      const created = new Alarm(this, name, { treatMissingData: TreatMissingData.NOT_BREACHING, ...a });
      created.addAlarmAction(new SnsAction(this.topic));
      this.alarms.push(created);
    };
    for (const lane of LANE_NAMES) {
      alarm(`${lane}DeadLetters`, {
        alarmDescription: `Messages in the ${lane} lane's DLQ: tasks whose worker kept crashing`,
        metric: props.deadLetterQueues[lane].metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${lane}OldestMessage`, {
        alarmDescription: `The ${lane} lane is falling behind`,
        metric: props.lanes[lane].metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: props.maxMessageAgeSeconds?.[lane] ?? DEFAULT_AGE[lane],
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
    }
    alarm('DispatchFailures', {
      alarmDescription: 'The dispatcher gave up on stream records: queued tasks without a message',
      metric: props.dispatchFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
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
      metric: metric('Recovered').with({ period: Duration.minutes(5) }),
      threshold: props.recoveriesPer5Minutes ?? 10,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
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
        left: ['Submitted', 'Started', 'Succeeded', 'Failed', 'Retried', 'Cancelled'].map(
          (m) =>
            new MathExpression({
              expression: `SUM(SEARCH('{Sluice,service,lane,type} MetricName="${m}"', 'Sum', 60))`,
              label: m,
              period: Duration.minutes(1),
            }),
        ),
      }),
      new GraphWidget({
        title: 'Dead letters and recoveries',
        width: 12,
        left: LANE_NAMES.map((l) => props.deadLetterQueues[l].metricApproximateNumberOfMessagesVisible({ label: `${l} DLQ` })),
        right: [metric('Recovered', {}, 'Sum').with({ label: 'recovered' })],
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
    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn, description: 'Subscribe to receive Sluice alarms' });
  }
}
