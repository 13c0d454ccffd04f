import { Duration } from 'aws-cdk-lib';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANE_NAMES, LANES, type LaneName, laneDlqEnv, laneQueueEnv } from '#core/lanes.ts';
import { laneVisibilitySeconds, MAX_SQS_RETENTION_SECONDS, WORKER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { acknowledge } from './nag.ts';

export interface PriorityLanesProps {
  /**
   * The worker function's timeout, in seconds: worker lanes take it as their visibility timeout,
   * the least Lambda accepts for a mapping. Live workers shorten it to half the recovery bound at
   * once and keep renewing that, so only a dead worker's messages come back early.
   * @default 900 (the launcher's lane: 360 s, six times its function's timeout)
   */
  readonly workerTimeoutSeconds?: number;
  /**
   * How long a lane keeps a message nobody received (a backlog older than that would be dropped
   * by SQS; the reconciliation would find its tasks again, but late).
   * @default 14 days (the SQS maximum)
   */
  readonly retention?: Duration;
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
        retentionPeriod: props.dlqRetention ?? Duration.seconds(MAX_SQS_RETENTION_SECONDS),
      });
      queues[lane.name] = new Queue(this, lane.name, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(laneVisibilitySeconds(lane.consumer, props.workerTimeoutSeconds ?? WORKER_TIMEOUT_SECONDS)),
        retentionPeriod: props.retention ?? Duration.seconds(MAX_SQS_RETENTION_SECONDS),
        deadLetterQueue: { queue: dlq, maxReceiveCount: lane.maxReceiveCount },
      });
      // Departs from the "six times the function timeout" guidance (cdk-nag's
      // LambdaEventSourceSQSVisibilityTimeout rule; in no pack of cdk-nag 3.0, so nothing to
      // suppress): that rule assumes a consumer that never extends visibility. The queue keeps
      // the least Lambda accepts (the function's timeout); the worker shortens every message it
      // received to half the recovery bound and renews that while it works on it, which is what
      // brings a dead worker's tasks back within the bound.
      dlqs[lane.name] = dlq;
      acknowledge(dlq, 'Serverless::Serverless-SQSRedrivePolicy', 'A lane DLQ is the end of the line; the sweeper drains it.');
    }
    this.queues = queues;
    this.deadLetterQueues = dlqs;
  }
}

/** The LANE_<NAME>_URL variables a function needs to address every lane. */
export function laneEnvironment(lanes: Readonly<Record<LaneName, IQueue>>): Record<string, string> {
  return Object.fromEntries(LANE_NAMES.map((lane) => [laneQueueEnv(lane), lanes[lane].queueUrl]));
}

/** The LANE_<NAME>_DLQ_URL variables a function needs to address every lane's DLQ. */
export function deadLetterEnvironment(dlqs: Readonly<Record<LaneName, IQueue>>): Record<string, string> {
  return Object.fromEntries(LANE_NAMES.map((lane) => [laneDlqEnv(lane), dlqs[lane].queueUrl]));
}
