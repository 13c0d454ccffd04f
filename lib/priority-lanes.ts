import { Duration } from 'aws-cdk-lib';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, LANES, type LaneName, laneQueueEnv } from '#core/lanes.ts';
import { laneVisibilitySeconds } from '#core/limits.ts';
import { acknowledge } from './nag.ts';

export interface PriorityLanesProps {
  /**
   * Visibility timeout of every lane: six times the consuming function's timeout.
   * @default 5400 s for worker lanes (6 × 900 s), 360 s for the launcher's (6 × 60 s)
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
        visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(laneVisibilitySeconds(lane.consumer)),
        deadLetterQueue: { queue: dlq, maxReceiveCount: lane.maxReceiveCount },
      });
      dlqs[lane.name] = dlq;
      acknowledge(dlq, 'Serverless::Serverless-SQSRedrivePolicy', 'A lane DLQ is the end of the line; the dead-letter function drains it.');
    }
    this.queues = queues;
    this.deadLetterQueues = dlqs;
  }
}

/** The LANE_<NAME>_URL variables a function needs to address every lane. */
export function laneEnvironment(lanes: Readonly<Record<LaneName, IQueue>>): Record<string, string> {
  return Object.fromEntries(LANE_NAMES.map((lane) => [laneQueueEnv(lane), lanes[lane].queueUrl]));
}
