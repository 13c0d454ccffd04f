/**
 * What each lane holds now, from SQS's own approximate counters: messages ready to receive,
 * received and not yet deleted (in flight: running, or held by a worker), delayed (retries
 * backing off, scheduled tasks due within 15 minutes), and in the lane's dead-letter queue.
 * Tasks waiting for a limit's slot are not in any lane (they wait in the table).
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LANES, type LaneName } from './lanes.ts';

export interface LaneDepth {
  name: LaneName;
  consumer: 'worker' | 'launcher';
  maxConcurrency: number;
  batchSize: number;
  visible: number;
  inFlight: number;
  delayed: number;
  dlq: number;
}

export interface LaneQueues {
  url: string;
  dlqUrl: string;
}

const ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

/** Two GetQueueAttributes per lane, all at once. */
export async function laneDepths(sqs: SQSClient, queues: Readonly<Record<LaneName, LaneQueues>>): Promise<LaneDepth[]> {
  const counts = async (url: string) => {
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [...ATTRIBUTES] }));
    const a = out.Attributes ?? {};
    return ATTRIBUTES.map((name) => Number(a[name] ?? 0));
  };
  return Promise.all(
    LANES.map(async (lane) => {
      const [[visible, inFlight, delayed], [dlqVisible, dlqInFlight]] = await Promise.all([
        counts(queues[lane.name].url),
        counts(queues[lane.name].dlqUrl),
      ]);
      return {
        name: lane.name,
        consumer: lane.consumer,
        maxConcurrency: lane.maxConcurrency,
        batchSize: lane.batchSize,
        visible,
        inFlight,
        delayed,
        dlq: dlqVisible + dlqInFlight,
      };
    }),
  );
}
