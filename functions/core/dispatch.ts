/**
 * What the dispatcher sends for a change of the table: each new (id, version) in QUEUED becomes
 * one message on the task's lane. Pure, so the local runtime and the tests share it.
 */
import { type LaneName, laneFor } from './lanes.ts';
import { MAX_SQS_DELAY_SECONDS } from './limits.ts';
import type { TaskRecord } from './model.ts';

/** The whole message: the task stays in the table; the version fences stale deliveries. */
export interface TaskMessage {
  id: string;
  /** The version the task had when it was queued: start succeeds only against it. */
  v: number;
  /** The attempt number the start will record (derived from the same version of the item). */
  a: number;
}

export interface Dispatch {
  lane: LaneName;
  message: TaskMessage;
  delaySeconds: number;
}

/**
 * Stream filter used by the event source mapping on AWS (so other changes never invoke the
 * dispatcher) and applied by the local runtime's stream poller.
 */
export const DISPATCH_FILTER_PATTERN = { dynamodb: { NewImage: { status: { S: ['QUEUED'] } } } } as const;

export function dispatchFor(image: TaskRecord | undefined, now: number): Dispatch | undefined {
  if (image?.status !== 'QUEUED') return undefined;
  const wait = image.notBefore === undefined ? 0 : Math.ceil((image.notBefore - now) / 1000);
  return {
    lane: laneFor(image.priority, image.runtime),
    message: { id: image.id, v: image.version, a: image.attempt + 1 },
    delaySeconds: Math.max(0, Math.min(MAX_SQS_DELAY_SECONDS, wait)),
  };
}

export function parseMessage(body: string): TaskMessage {
  const parsed = JSON.parse(body) as Partial<TaskMessage>;
  if (typeof parsed.id !== 'string' || typeof parsed.v !== 'number' || typeof parsed.a !== 'number') {
    throw new Error(`not a task message: ${body.slice(0, 200)}`);
  }
  return { id: parsed.id, v: parsed.v, a: parsed.a };
}
