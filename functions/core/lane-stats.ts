/**
 * Per lane and per minute, from the metrics Sluice already emits (no counters of its own): tasks
 * submitted, started, succeeded and failed, and run-time percentiles, read from CloudWatch with
 * one GetMetricData (the per-lane dimension set of #core/metrics.ts); and each lane queue's
 * oldest message age, which SQS publishes to CloudWatch every minute.
 */
import { type CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { LANE_NAMES, type LaneName } from './lanes.ts';
import { METRIC_NAMESPACE, type MetricName, metricService } from './metrics.ts';

import { STATS_PERIOD_SECONDS } from './stats-window.ts';

export interface LaneSeries {
  name: LaneName;
  submitted: number[];
  started: number[];
  succeeded: number[];
  failed: number[];
  /** null where the minute has no finished run. */
  runTimeP50Ms: (number | null)[];
  runTimeP95Ms: (number | null)[];
}

export interface LaneStats {
  periodSeconds: number;
  /** The start of each minute (ISO 8601), oldest first; every series has one value per minute. */
  minutes: string[];
  lanes: LaneSeries[];
}

const SERIES = [
  ['submitted', 'Submitted', 'Sum'],
  ['started', 'Started', 'Sum'],
  ['succeeded', 'Succeeded', 'Sum'],
  ['failed', 'Failed', 'Sum'],
  ['runTimeP50Ms', 'RunDuration', 'p50'],
  ['runTimeP95Ms', 'RunDuration', 'p95'],
] as const satisfies readonly (readonly [keyof LaneSeries, MetricName, string])[];

/** All pages of one GetMetricData, as values by query id and timestamp (ms). */
async function metricData(cloudwatch: CloudWatchClient, queries: MetricDataQuery[], start: Date, end: Date) {
  const values = new Map<string, Map<number, number>>();
  let token: string | undefined;
  do {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries,
        StartTime: start,
        EndTime: end,
        NextToken: token,
        ScanBy: 'TimestampAscending',
      }),
    );
    for (const result of out.MetricDataResults ?? []) {
      const series = values.get(result.Id as string) ?? new Map<number, number>();
      (result.Timestamps ?? []).forEach((t, i) => {
        const value = result.Values?.[i];
        if (value !== undefined && value !== null) series.set(new Date(t).getTime(), value);
      });
      values.set(result.Id as string, series);
    }
    token = out.NextToken;
  } while (token);
  return values;
}

/** `service`: the deployment whose metrics to read (#core/metrics.ts). */
export async function laneStats(
  cloudwatch: CloudWatchClient,
  minutes: number,
  service = metricService(),
  now = Date.now(),
): Promise<LaneStats> {
  const periodMs = STATS_PERIOD_SECONDS * 1000;
  const end = Math.ceil((now + 1) / periodMs) * periodMs;
  const start = end - minutes * periodMs;
  const queries: MetricDataQuery[] = LANE_NAMES.flatMap((lane, l) =>
    SERIES.map(([, metric, stat], s) => ({
      Id: `q${l}_${s}`,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: METRIC_NAMESPACE,
          MetricName: metric,
          Dimensions: [
            { Name: 'service', Value: service },
            { Name: 'lane', Value: lane },
          ],
        },
        Period: STATS_PERIOD_SECONDS,
        Stat: stat,
      },
    })),
  );
  const values = await metricData(cloudwatch, queries, new Date(start), new Date(end));
  const stamps = Array.from({ length: minutes }, (_, i) => start + i * periodMs);
  return {
    periodSeconds: STATS_PERIOD_SECONDS,
    minutes: stamps.map((t) => new Date(t).toISOString()),
    lanes: LANE_NAMES.map((name, l) => {
      const series = { name } as LaneSeries;
      SERIES.forEach(([field, , stat], s) => {
        const found = values.get(`q${l}_${s}`);
        const counted = stat === 'Sum';
        (series as unknown as Record<string, (number | null)[]>)[field] = stamps.map((t) => found?.get(t) ?? (counted ? 0 : null));
      });
      return series;
    }),
  };
}

/**
 * Each queue's ApproximateAgeOfOldestMessage as SQS last published it (the latest minute of the
 * last five; 0 when it published nothing, as for an empty queue).
 */
export async function oldestMessageAges(cloudwatch: CloudWatchClient, queueNames: Readonly<Record<LaneName, string>>, now = Date.now()) {
  const queries: MetricDataQuery[] = LANE_NAMES.map((lane, l) => ({
    Id: `age${l}`,
    ReturnData: true,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: queueNames[lane] }],
      },
      Period: STATS_PERIOD_SECONDS,
      Stat: 'Maximum',
    },
  }));
  const values = await metricData(cloudwatch, queries, new Date(now - 5 * 60_000), new Date(now + 60_000));
  return Object.fromEntries(
    LANE_NAMES.map((lane, l) => {
      const series = [...(values.get(`age${l}`) ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]);
      return [lane, Math.round(series.at(-1)?.[1] ?? 0)];
    }),
  ) as Record<LaneName, number>;
}
