import { Duration } from 'aws-cdk-lib';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANES, type LaneName } from '#core/lanes.ts';
import { LANE_VISIBILITY_TIMEOUT_SECONDS } from '#core/limits.ts';

export interface PriorityLanesProps {
  /**
   * Visibility timeout of every lane: six times the consuming function's timeout.
   * @default 5400 seconds (6 × the worker's 900 s)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long failed messages stay in the DLQs.
   * @default 14 days (the SQS maximum)
   */
  readonly dlqRetention?: Duration;
}

/** One SQS queue per lane (from the shared lane definitions), each with its own encrypted DLQ. */
export class PriorityLanes extends Construct {
  readonly queues: Readonly<Record<LaneName, IQueue>>;
  readonly deadLetterQueues: Readonly<Record<LaneName, IQueue>>;

  constructor(scope: Construct, id: string, props: PriorityLanesProps = {}) {
    super(scope, id);
    const queues = {} as Record<LaneName, IQueue>;
    const dlqs = {} as Record<LaneName, IQueue>;
    for (const lane of LANES) {
      const dlq = new Queue(this, `${lane.name}-dlq`, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: props.dlqRetention ?? Duration.days(14),
      });
      queues[lane.name] = new Queue(this, lane.name, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(LANE_VISIBILITY_TIMEOUT_SECONDS),
        deadLetterQueue: { queue: dlq, maxReceiveCount: lane.maxReceiveCount },
      });
      dlqs[lane.name] = dlq;
    }
    this.queues = queues;
    this.deadLetterQueues = dlqs;
  }
}
