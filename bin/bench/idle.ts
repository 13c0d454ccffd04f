/**
 * What a deployment costs when nothing runs, counted from the synthesized template of the default
 * stack (never listed by hand) and priced from the table below. The sweeper's own requests are
 * measured (a plain pass and a pass with the backstops, on an idle local runtime, through the
 * request meter) and passed in; the failure queues its backstops look at are counted from the
 * template (the local runtime has none).
 *
 * Sources (us-east-1 list prices, 2026-11-24):
 * - CloudWatch: a standard-resolution alarm $0.10 per metric it evaluates per month (an alarm on a
 *   math expression pays for each metric in it); a dashboard $3.00 per month beyond an account's
 *   first three: https://aws.amazon.com/cloudwatch/pricing/
 * - KMS: a customer-managed key $1.00 per month: https://aws.amazon.com/kms/pricing/
 * - EventBridge: scheduled rules' events are not charged: https://aws.amazon.com/eventbridge/pricing/
 * - Lambda, SQS, DynamoDB: bin/bench/prices.ts.
 * - Idle SQS polling: Lambda long-polls an idle standard queue, "scales down to 5 concurrent
 *   invocations, and can optimize to as few as 2 … not available when you enable the maximum
 *   concurrency setting" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
 *   AWS documents no request rate; this model assumes each idle poller makes one 20 s long poll
 *   after another (3 requests a minute), the longest wait SQS allows — a lower bound on requests.
 */
import { FAILURE_QUEUE_ENV } from '#core/attention.ts';
import { PRICES } from './prices.ts';

const MINUTES_PER_MONTH = 43_830;
export const IDLE_PRICES = {
  alarmPerMetricMonth: 0.1,
  dashboardMonth: 3.0,
  kmsKeyMonth: 1.0,
  scheduledEvent: 0,
  pollsPerPollerMinute: 3,
  pollersWithMaximumConcurrency: 5,
  pollersOptimized: 2,
  /** What one sweeper pass is assumed to take on Lambda (locally measured wall time says little about Lambda's). */
  periodicInvocationSeconds: 0.3,
} as const;

type Resource = { Type: string; Properties?: Record<string, unknown> };

export interface IdleLine {
  item: string;
  count: number;
  usdPerMonth: number;
  basis: string;
}

export interface PassCost {
  /** DynamoDB read units one sweeper pass consumed. */
  rru: number;
  /** DynamoDB write units it consumed (the reconciliation's markers: a unit each). */
  wru: number;
  /** SQS requests one sweeper pass made. */
  sqsRequests: number;
}

/** What the backstops add to a pass, and how often they run. */
export interface BackstopCost extends PassCost {
  everyPasses: number;
}

const round = (n: number) => Math.round(n * 100) / 100;

const passUsd = (p: PassCost) => p.rru * PRICES.dynamodbPerRru + p.wru * PRICES.dynamodbPerWru + p.sqsRequests * PRICES.sqsPerRequest;

export function idleCost(
  resources: Record<string, Resource>,
  pass: PassCost,
  backstop: BackstopCost,
): { usdPerMonth: number; breakdown: IdleLine[] } {
  const of = (type: string) => Object.values(resources).filter((r) => r.Type === type);
  const alarms = of('AWS::CloudWatch::Alarm');
  const alarmMetrics = alarms.reduce((n, a) => {
    const metrics = (a.Properties?.Metrics as { MetricStat?: unknown }[] | undefined)?.filter((m) => m.MetricStat).length;
    return n + (metrics ?? 1);
  }, 0);
  const sqsMappings = of('AWS::Lambda::EventSourceMapping').filter(
    (m) => ((m.Properties?.EventSourceArn as { 'Fn::GetAtt'?: string[] })?.['Fn::GetAtt'] ?? [])[1] === 'Arn',
  );
  const pollers = sqsMappings.reduce(
    (n, m) => n + (m.Properties?.ScalingConfig ? IDLE_PRICES.pollersWithMaximumConcurrency : IDLE_PRICES.pollersOptimized),
    0,
  );
  const pollRequests = pollers * IDLE_PRICES.pollsPerPollerMinute * MINUTES_PER_MONTH;
  const schedules = of('AWS::Events::Rule').filter((r) => typeof r.Properties?.ScheduleExpression === 'string');
  const perMonth = (rules: typeof schedules) =>
    rules.reduce((n, r) => {
      const m = /^rate\((\d+) minutes?\)$/.exec(String(r.Properties?.ScheduleExpression));
      return n + (m ? MINUTES_PER_MONTH / Number(m[1]) : 0);
    }, 0);
  const targetsSweeper = (r: (typeof schedules)[number]) => JSON.stringify(r.Properties?.Targets ?? []).includes('Sweeper');
  const passesPerMonth = perMonth(schedules.filter(targetsSweeper));
  // Other periodic functions (the schedule repair pass): their invocations, and one Query each.
  const otherPasses = perMonth(schedules.filter((r) => !targetsSweeper(r)));
  const functions = of('AWS::Lambda::Function');
  const sweeperFunction = functions.find((f) => JSON.stringify(f).includes('sweeper'));
  const memoryGb = ((sweeperFunction?.Properties?.MemorySize as number) ?? 256) / 1024;
  // The failure queues the backstops look at: one GetQueueAttributes each.
  const sweeperEnvironment =
    (sweeperFunction?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
  const failureQueues = Object.values(FAILURE_QUEUE_ENV).filter((name) => name in sweeperEnvironment).length;
  const backstopPasses = passesPerMonth / backstop.everyPasses;
  const backstopPass = { ...backstop, sqsRequests: backstop.sqsRequests + failureQueues };
  const breakdown: IdleLine[] = [
    {
      item: 'CloudWatch alarms',
      count: alarms.length,
      usdPerMonth: round(alarmMetrics * IDLE_PRICES.alarmPerMetricMonth),
      basis: `${alarmMetrics} metrics evaluated × $0.10`,
    },
    {
      item: 'CloudWatch dashboards',
      count: of('AWS::CloudWatch::Dashboard').length,
      usdPerMonth: round(of('AWS::CloudWatch::Dashboard').length * IDLE_PRICES.dashboardMonth),
      basis: '$3.00 each (free within an account’s first three)',
    },
    {
      item: 'KMS customer-managed keys',
      count: of('AWS::KMS::Key').length,
      usdPerMonth: round(of('AWS::KMS::Key').length * IDLE_PRICES.kmsKeyMonth),
      basis: '$1.00 each',
    },
    {
      item: 'idle polling of SQS event source mappings',
      count: sqsMappings.length,
      usdPerMonth: round(pollRequests * PRICES.sqsPerRequest),
      basis: `${pollers} pollers × ${IDLE_PRICES.pollsPerPollerMinute} long polls a minute = ${Math.round(pollRequests / 1e3)} k requests`,
    },
    {
      item: 'sweeper invocations',
      count: Math.round(passesPerMonth),
      usdPerMonth: round(
        passesPerMonth * (PRICES.lambdaPerRequest + IDLE_PRICES.periodicInvocationSeconds * memoryGb * PRICES.lambdaArmPerGbSecond),
      ),
      basis: `rate schedule; ${IDLE_PRICES.periodicInvocationSeconds} s × ${memoryGb * 1024} MB each (assumed)`,
    },
    {
      item: 'sweeper reads and aging looks',
      count: Math.round(passesPerMonth),
      usdPerMonth: round(passesPerMonth * passUsd(pass)),
      basis: `measured per pass: ${pass.rru} RRU, ${pass.wru} WRU, ${pass.sqsRequests} SQS requests`,
    },
    {
      item: 'sweeper backstops (reconciliation, DLQs, failure queues)',
      count: Math.round(backstopPasses),
      usdPerMonth: round(backstopPasses * passUsd(backstopPass)),
      basis: `every ${backstop.everyPasses} passes, measured beyond a plain pass: ${backstop.rru} RRU, ${backstop.wru} WRU, ${backstop.sqsRequests} SQS requests, and ${failureQueues} failure-queue looks (template)`,
    },
    {
      item: 'other periodic invocations (schedule repair)',
      count: Math.round(otherPasses),
      usdPerMonth: round(
        otherPasses *
          (PRICES.lambdaPerRequest +
            IDLE_PRICES.periodicInvocationSeconds * memoryGb * PRICES.lambdaArmPerGbSecond +
            0.5 * PRICES.dynamodbPerRru),
      ),
      basis: `rate schedule; ${IDLE_PRICES.periodicInvocationSeconds} s × ${memoryGb * 1024} MB and one 0.5 RRU Query each (assumed; ListSchedules is free)`,
    },
    { item: 'EventBridge schedule events', count: schedules.length, usdPerMonth: 0, basis: 'scheduled rules are not charged' },
  ];
  return { usdPerMonth: round(breakdown.reduce((n, l) => n + l.usdPerMonth, 0)), breakdown };
}
