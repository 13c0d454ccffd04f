/**
 * Dead letters: what to do with a task whose message reached a lane's DLQ (it was received maxReceiveCount
 * times without being deleted: its worker kept crashing, or its duplicates kept being held).
 */

import { DeleteMessageCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { attemptAliveUntil } from './claiming.ts';
import { parseMessage, type TaskMessage } from './dispatch.ts';
import { StaleVersion } from './errors.ts';
import type { LaneName } from './lanes.ts';
import { WORKER_TIMEOUT_SECONDS } from './limits.ts';
import type { TaskRecord } from './model.ts';
import { recoverLost } from './recovery.ts';
import type { TaskStore } from './store.ts';

export type DeadLetterOutcome = 'recovered' | 'redispatched' | 'stale';

export interface DeadLetterResult {
  outcome: DeadLetterOutcome;
  /** The task after the recovery, when there was one. */
  task?: TaskRecord;
}

export async function recoverDeadLetter(
  store: TaskStore,
  message: TaskMessage,
  receiveCount: number,
  now = Date.now(),
): Promise<DeadLetterResult> {
  const task = await store.find(message.id);
  if (!task) return { outcome: 'stale' };
  try {
    if (task.status === 'RUNNING' && task.claim === message.v) {
      // A live attempt holds its own copy of the message: this one was a duplicate.
      if (now < attemptAliveUntil(task, WORKER_TIMEOUT_SECONDS * 1000)) return { outcome: 'stale' };
      const lost = {
        reason: 'dead-letter',
        error: {
          code: 'worker-lost',
          message: `its message was delivered ${receiveCount} times without an outcome (crash, timeout or out of memory)`,
        },
      };
      const recovered = await recoverLost(store, task, lost, { actor: 'system', now });
      return recovered ? { outcome: 'recovered', task: recovered.task } : { outcome: 'stale' };
    }
    if (isUnstarted(task, message)) {
      // Never started (the start write itself kept failing): send it again rather than lose it.
      return {
        outcome: 'redispatched',
        task: await store.annotate(task, { reason: 'dlq-redrive', actor: 'system', bumpVersion: true, now }),
      };
    }
  } catch (error) {
    if (!(error instanceof StaleVersion)) throw error;
  }
  return { outcome: 'stale' };
}

const isUnstarted = (task: TaskRecord, message: TaskMessage) =>
  (task.status === 'QUEUED' || task.status === 'SCHEDULED') && task.version === message.v;

/** What one drain of the DLQs did: every message received counts, handled or not. */
export interface DeadLetterDrain {
  received: { lane: LaneName; taskId?: string; outcome: DeadLetterOutcome | 'dropped' | 'failed' }[];
  errors: { where: string; error: unknown }[];
}

/** Most batches one drain takes from one DLQ (a burst of dead letters is drained over passes). */
const MAX_BATCHES_PER_QUEUE = 10;

/**
 * Drain the lanes' DLQs: each message's task is recovered (#recoverDeadLetter) and the message
 * deleted. A message whose recovery fails stays, hidden for a while, and is counted again at its
 * next drain, so a failing recovery keeps showing.
 */
export async function drainDeadLetters(
  store: TaskStore,
  sqs: SQSClient,
  urls: Partial<Record<LaneName, string>>,
  now = Date.now(),
): Promise<DeadLetterDrain> {
  const drain: DeadLetterDrain = { received: [], errors: [] };
  for (const [lane, url] of Object.entries(urls) as [LaneName, string][]) {
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_QUEUE; batch++) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 60,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        const messages = out.Messages ?? [];
        for (const m of messages) drain.received.push(await handleOne(store, sqs, url, lane, m, now, drain));
        if (messages.length < 10) break;
      }
    } catch (error) {
      drain.errors.push({ where: `dead letters ${lane}`, error });
    }
  }
  return drain;
}

async function handleOne(
  store: TaskStore,
  sqs: SQSClient,
  url: string,
  lane: LaneName,
  m: Message,
  now: number,
  drain: DeadLetterDrain,
): Promise<DeadLetterDrain['received'][number]> {
  let message: TaskMessage | undefined;
  try {
    message = parseMessage(m.Body ?? '');
  } catch {
    // Not a task message: nothing to recover, and keeping it would count it at every drain.
  }
  try {
    const result = message
      ? await recoverDeadLetter(store, message, Number(m.Attributes?.ApproximateReceiveCount ?? 0), now)
      : { outcome: 'dropped' as const };
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    return { lane, taskId: message?.id, outcome: result.outcome };
  } catch (error) {
    drain.errors.push({ where: `dead letter ${message?.id ?? m.MessageId}`, error });
    return { lane, taskId: message?.id, outcome: 'failed' };
  }
}
