/**
 * What the dispatcher sends for a change of the table: each new (id, version) in QUEUED becomes
 * one message on the task's lane. Pure, so the local runtime and the tests share it.
 */
import { type LaneName, laneFor } from './lanes.ts';
import { MAX_SQS_DELAY_SECONDS } from './limits.ts';
import { DEFAULT_TENANT, type TaskRecord } from './model.ts';
import { LIMIT_DEFINITIONS_PARTITION } from './tenancy.ts';

/** The whole message: the task stays in the table; the version fences stale deliveries. */
export interface TaskMessage {
  id: string;
  /** The version the task had when it was queued: start succeeds only against it. */
  v: number;
  /** The attempt number the start will record (derived from the same version of the item). */
  a: number;
  /**
   * 1 when the task's type declared itself idempotent: the worker may then run it before writing
   * its start (one write instead of two; a duplicate delivery may run it twice).
   */
  i?: 1;
  /** Rate limits to pass when it starts: [limit id, limit, period seconds] (set by admission). */
  r?: [string, number, number][];
  /** A start time one of them reserved for it. */
  rr?: number;
  /**
   * The slot it waited for, handed to it with this message instead of a wake-up write: the
   * reason and time its start writes in its history (and the start ends its wait).
   */
  h?: [string, number];
}

export interface Dispatch {
  lane: LaneName;
  message: TaskMessage;
  delaySeconds: number;
  /** SQS fair queues' MessageGroupId: the tenant. */
  group: string;
}

/**
 * Stream filter used by the event source mapping on AWS (so other changes never invoke the
 * dispatcher) and applied by the local runtime's stream poller.
 */
export const DISPATCH_FILTER_PATTERN = {
  // A task waiting for a slot is not sent: its parking (or its birth parked) invokes nobody.
  dynamodb: { NewImage: { status: { S: ['QUEUED', 'SCHEDULED'] }, waitingFor: { M: { scope: { S: [{ exists: false }] } } } } },
} as const;
/** The last task a batch submission parked on a limit: the dispatcher fills that limit's free slots. */
export const FILL_FILTER_PATTERN = {
  dynamodb: { NewImage: { status: { S: ['QUEUED'] }, waitingFor: { M: { fill: { BOOL: [true] } } } } },
} as const;
/** Tasks that went through admission and ended or paused: their slots go back. */
export const RELEASE_FILTER_PATTERN = {
  dynamodb: { NewImage: { status: { S: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'PAUSED'] }, limited: { BOOL: [true] } } },
} as const;
/** A limit definition changed: the dispatcher reads its limits again. */
export const LIMIT_CHANGE_FILTER_PATTERN = { dynamodb: { Keys: { pk: { S: [LIMIT_DEFINITIONS_PARTITION] } } } } as const;
/**
 * The dispatcher's stream mapping, as the stack deploys it (and the scale model reads it): records
 * per invocation, and batches of one stream shard processed at once — Lambda's default of 1 (at
 * most 10); records of one partition key stay in order either way.
 */
export const DISPATCHER_STREAM_MAPPING = { batchSize: 100, parallelizationFactor: 1 } as const;
/**
 * The dispatcher's timeout: an invocation still running then is stopped and its batch retried
 * (the stack sets it on the function; the local runtime enforces it on its in-process calls).
 */
export const DISPATCHER_TIMEOUT_SECONDS = 30;

/** The dispatcher's stream filters (a record matching any of them invokes it). */
export const DISPATCHER_FILTER_PATTERNS = [
  DISPATCH_FILTER_PATTERN,
  FILL_FILTER_PATTERN,
  RELEASE_FILTER_PATTERN,
  LIMIT_CHANGE_FILTER_PATTERN,
] as const;

/**
 * A SCHEDULED task due within SQS's delay limit is sent now with a delay (the worker moves it
 * through QUEUED when it starts it); one due later is left to the sweeper.
 */
export function dispatchFor(image: TaskRecord | undefined, now: number, previous?: TaskRecord): Dispatch | undefined {
  // Only a new version is news: writes that keep the version (a launch lease, say) send nothing.
  if (!image || (previous && previous.version === image.version)) return undefined;
  // Parked: admission wakes it, or sends it, when a slot frees.
  if (image.waitingFor !== undefined) return undefined;
  return messageFor(image, now);
}

/** The message that runs this version of a queued (or soon due) task, whether or not it waits. */
export function messageFor(image: TaskRecord, now: number): Dispatch | undefined {
  const due = image.status === 'SCHEDULED' ? image.runAt : image.notBefore;
  if (image.status === 'SCHEDULED' && (due === undefined || due - now > MAX_SQS_DELAY_SECONDS * 1000)) return undefined;
  if (image.status !== 'QUEUED' && image.status !== 'SCHEDULED') return undefined;
  const wait = due === undefined ? 0 : Math.ceil((due - now) / 1000);
  return {
    lane: laneFor(image.priority, image.runtime),
    message: { id: image.id, v: image.version, a: image.attempt + 1, ...(image.idempotent ? { i: 1 as const } : {}) },
    delaySeconds: Math.max(0, Math.min(MAX_SQS_DELAY_SECONDS, wait)),
    group: image.tenant ?? DEFAULT_TENANT,
  };
}

export function parseMessage(body: string): TaskMessage {
  const parsed = JSON.parse(body) as Partial<TaskMessage>;
  if (typeof parsed.id !== 'string' || typeof parsed.v !== 'number' || typeof parsed.a !== 'number') {
    throw new Error(`not a task message: ${body.slice(0, 200)}`);
  }
  const rates = Array.isArray(parsed.r)
    ? parsed.r.filter((r): r is [string, number, number] => Array.isArray(r) && typeof r[0] === 'string' && r[1] > 0 && r[2] > 0)
    : [];
  return {
    id: parsed.id,
    v: parsed.v,
    a: parsed.a,
    ...(parsed.i === 1 ? { i: 1 as const } : {}),
    ...(rates.length ? { r: rates } : {}),
    ...(typeof parsed.rr === 'number' ? { rr: parsed.rr } : {}),
    ...(Array.isArray(parsed.h) && typeof parsed.h[0] === 'string' && typeof parsed.h[1] === 'number'
      ? { h: [parsed.h[0], parsed.h[1]] as [string, number] }
      : {}),
  };
}
