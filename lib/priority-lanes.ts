import { Duration } from 'aws-cdk-lib';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, LANES, type LaneName, laneQueueEnv } from '#core/lanes.ts';
import { DEFAULT_RECOVERY_SECONDS, laneVisibilitySeconds } from '#core/limits.ts';
import { acknowledge } from './nag.ts';

export interface PriorityLanesProps {
  /**
   * The recovery bound, in seconds: worker lanes get half of it as their visibility timeout, which
   * live workers keep extending (so only a dead worker's messages come back, within the bound).
   * @default 60 (worker lanes 30 s; the launcher's lane 360 s, six times its function's timeout)
   */
  readonly recoverySeconds?: number;
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
        visibilityTimeout: Duration.seconds(laneVisibilitySeconds(lane.consumer, props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS)),
        deadLetterQueue: { queue: dlq, maxReceiveCount: lane.maxReceiveCount },
      });
      // Departs from the "six times the function timeout" guidance (cdk-nag's
      // LambdaEventSourceSQSVisibilityTimeout rule; in no pack of cdk-nag 3.0, so nothing to
      // suppress): that rule assumes a consumer that never extends visibility. The worker extends
      // every message it still works on every third of the timeout, and the short timeout is what
      // brings a dead worker's tasks back within the recovery bound.
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
