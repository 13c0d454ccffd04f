/**
 * Priority lanes, defined once and read by the CDK stack and by the local runtime.
 * Each lane is an SQS queue with a DLQ; the worker has one event source mapping per lane with its
 * own maximum concurrency, so a backlog in one lane never takes capacity from another.
 */
import type { Priority, Runtime } from './model.ts';

export const LANE_NAMES = ['critical', 'high', 'normal', 'low', 'long'] as const;
export type LaneName = (typeof LANE_NAMES)[number];

export interface LaneDefinition {
  readonly name: LaneName;
  /** Which consumer drains the lane. */
  readonly consumer: 'worker' | 'launcher';
  /** Messages per invocation (SQS event source mapping BatchSize). */
  readonly batchSize: number;
  /** Concurrent invocations for this lane (ESM ScalingConfig.MaximumConcurrency, minimum 2 on AWS). */
  readonly maxConcurrency: number;
  /** Deliveries before a message is moved to the lane's DLQ (a task that keeps crashing its worker). */
  readonly maxReceiveCount: number;
  /** Seconds a task may wait in this lane before the sweeper raises it one lane (aging); 0 = never. */
  readonly agingSeconds: number;
  /** Batching window (ESM MaximumBatchingWindowInSeconds): 0 keeps start latency minimal. */
  readonly batchingWindowSeconds: number;
  /**
   * A task queued longer than this means the lane is falling behind: someone should look. The
   * critical lane's alarm reads SQS's age of its oldest message; the sweeper's looks watch the others.
   */
  readonly behindSeconds: number;
}

// Worker lanes send a message to their DLQ after 10 receives: a task's own attempts (which a
// crash uses up) stop poison first; receives also count held duplicates, the messages of a batch
// whose environment died, and the sweeper's aging looks, none of which are the message's fault.
export const LANES: readonly LaneDefinition[] = [
  {
    name: 'critical',
    consumer: 'worker',
    batchSize: 10,
    maxConcurrency: 20,
    maxReceiveCount: 10,
    agingSeconds: 0,
    batchingWindowSeconds: 0,
    behindSeconds: 120,
  },
  {
    name: 'high',
    consumer: 'worker',
    batchSize: 10,
    maxConcurrency: 20,
    maxReceiveCount: 10,
    agingSeconds: 300,
    batchingWindowSeconds: 0,
    behindSeconds: 600,
  },
  {
    name: 'normal',
    consumer: 'worker',
    batchSize: 10,
    maxConcurrency: 10,
    maxReceiveCount: 10,
    agingSeconds: 900,
    batchingWindowSeconds: 0,
    behindSeconds: 1800,
  },
  {
    name: 'low',
    consumer: 'worker',
    batchSize: 10,
    maxConcurrency: 5,
    maxReceiveCount: 10,
    agingSeconds: 1800,
    batchingWindowSeconds: 0,
    behindSeconds: 3600,
  },
  // The launcher holds messages back while the container cap is full, so they are received often.
  {
    name: 'long',
    consumer: 'launcher',
    batchSize: 1,
    maxConcurrency: 2,
    maxReceiveCount: 100,
    agingSeconds: 0,
    batchingWindowSeconds: 0,
    behindSeconds: 3600,
  },
];

/**
 * The lanes whose waits the sweeper watches by looking at a few messages each pass (it looks into
 * the aging lanes anyway): all but critical, whose messages a look would hide for seconds and
 * whose wait an alarm on SQS's own age metric watches instead.
 */
export const watchedBySweeper = (lane: LaneDefinition): boolean => lane.agingSeconds > 0 || lane.consumer === 'launcher';

export function laneDefinition(name: LaneName): LaneDefinition {
  const lane = LANES.find((l) => l.name === name);
  if (!lane) throw new Error(`no lane named ${name}`);
  return lane;
}

/** Container tasks go to the `long` lane whatever their priority; others to their priority's lane. */
export function laneFor(priority: Priority, runtime: Runtime): LaneName {
  return runtime === 'container' ? 'long' : priority;
}

/** The environment variable that carries a lane's queue URL to the dispatcher. */
export const laneQueueEnv = (lane: LaneName): string => `LANE_${lane.toUpperCase()}_URL`;
/** The environment variable that carries a lane's dead-letter queue URL (GET /lanes, the sweeper's drain). */
export const laneDlqEnv = (lane: LaneName): string => `LANE_${lane.toUpperCase()}_DLQ_URL`;

/** Physical queue names, shared by the stack (as a prefix-free suffix) and the local runtime. */
/** The UUID of the event source mapping that consumes a lane (its pause switch). */
export const laneMappingEnv = (lane: LaneName): string => `LANE_${lane.toUpperCase()}_MAPPING`;

export const laneQueueName = (prefix: string, lane: LaneName): string => `${prefix}-${lane}`;
export const laneDlqName = (prefix: string, lane: LaneName): string => `${prefix}-${lane}-dlq`;
