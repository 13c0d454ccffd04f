/**
 * What needs someone's attention, as the sweeper's pass finds it: one metric (`Attention`, by
 * reason and in total) that one alarm reads, instead of an alarm per signal. Each alarm costs
 * $0.10 a month per metric it reads, a look from the sweeper a few SQS requests; the signals are
 * emitted only when there is something to see, so an idle deployment publishes no metric at all.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LaneName } from './lanes.ts';

export const ATTENTION_REASONS = ['dead-letter', 'dispatch-failures', 'schedule-failures', 'lane-behind', 'recoveries'] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];

/** The queues nothing drains: they hold what failed until someone has looked. */
export type FailureQueue = 'dispatch-failures' | 'schedule-failures';
/** The environment variables that carry their URLs to the sweeper. */
export const FAILURE_QUEUE_ENV: Readonly<Record<FailureQueue, string>> = {
  'dispatch-failures': 'DISPATCH_FAILURES_URL',
  'schedule-failures': 'SCHEDULE_FAILURES_URL',
};

export interface PassFindings {
  /** Messages the pass received from the DLQs, handled or not. */
  deadLetters: number;
  /** Messages waiting in each failure queue the pass looked at. */
  failuresWaiting: Partial<Record<FailureQueue, number>>;
  /** Lanes where a task waited past the lane's `behindSeconds`. */
  lanesBehind: readonly LaneName[];
  /** Attempts the pass recovered. */
  recovered: number;
}

/** Recoveries in one pass beyond which someone should look (containers dying, launches failing). */
export const DEFAULT_RECOVERIES_PER_PASS = 2;

export function attentionOf(
  findings: PassFindings,
  recoveriesPerPass = DEFAULT_RECOVERIES_PER_PASS,
): { reason: AttentionReason; count: number }[] {
  const found: { reason: AttentionReason; count: number }[] = [];
  if (findings.deadLetters > 0) found.push({ reason: 'dead-letter', count: findings.deadLetters });
  for (const [queue, waiting] of Object.entries(findings.failuresWaiting) as [FailureQueue, number][]) {
    if (waiting > 0) found.push({ reason: queue, count: waiting });
  }
  if (findings.lanesBehind.length > 0) found.push({ reason: 'lane-behind', count: findings.lanesBehind.length });
  if (findings.recovered > recoveriesPerPass) found.push({ reason: 'recoveries', count: findings.recovered });
  return found;
}

/** Messages waiting (visible or delayed) in each failure queue: one GetQueueAttributes each. */
export async function failuresWaiting(
  sqs: SQSClient,
  urls: Partial<Record<FailureQueue, string>>,
): Promise<{ waiting: Partial<Record<FailureQueue, number>>; errors: { where: string; error: unknown }[] }> {
  const waiting: Partial<Record<FailureQueue, number>> = {};
  const errors: { where: string; error: unknown }[] = [];
  for (const [queue, url] of Object.entries(urls) as [FailureQueue, string][]) {
    try {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      waiting[queue] =
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
    } catch (error) {
      errors.push({ where: queue, error });
    }
  }
  return { waiting, errors };
}

/**
 * The backstops (the reconciliation, the DLQs, the failure queues) run on every `every`-th pass
 * of an environment, its first included: what they catch is rare and already minutes old, and
 * each look is a request or a read. A fresh environment runs them at once, so a recycled one
 * never skips them; Lambda reuses the sweeper's environment between passes a minute apart.
 */
export class Cadence {
  private passes = 0;
  constructor(private readonly every: number) {
    if (!Number.isInteger(every) || every < 1) throw new Error(`a cadence is a whole number of passes, got ${every}`);
  }
  /** Counts this pass; true when the backstops are due in it. */
  next(): boolean {
    return this.passes++ % this.every === 0;
  }
}
