/**
 * Dispatching a batch of table changes: which of them become messages (dispatchFor), sent grouped
 * by lane ten to a request, and where the stream must retry from when some were not sent. The
 * dispatcher handler only turns stream records into changes and the answer into a batch response.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Admission, admittedMessage, type HandOn } from './admission.ts';
import { type Dispatch, dispatchFor } from './dispatch.ts';
import type { LaneName } from './lanes.ts';
import { isTerminal, type TaskRecord } from './model.ts';
import { formerLanes } from './tenancy.ts';

/** One change of the table, as the stream reports it. */
export interface TableChange {
  /** The stream's sequence number (the batch item identifier to retry from). */
  sequence: string;
  image: TaskRecord;
  previous?: TaskRecord;
}

export interface PendingDispatch {
  sequence: string;
  dispatch: Dispatch;
}

/** The messages a batch of changes calls for, in stream order. */
export function planDispatches(changes: readonly TableChange[], now: number): PendingDispatch[] {
  return changes.flatMap((c) => {
    const dispatch = dispatchFor(c.image, now, c.previous);
    return dispatch ? [{ sequence: c.sequence, dispatch }] : [];
  });
}

/**
 * Admission for the tasks that need it: a task admitted goes out with its rate limits in the
 * message, one that must wait for a slot is parked (not sent). A change whose admission failed is
 * kept for the stream to retry (`failed`).
 */
export async function admitDispatches(
  pending: readonly PendingDispatch[],
  images: ReadonlyMap<string, TaskRecord>,
  admission: Admission,
  now: number,
): Promise<{ send: PendingDispatch[]; parked: number; failed: string[]; errors: unknown[] }> {
  const send: PendingDispatch[] = [];
  const failed: string[] = [];
  const errors: unknown[] = [];
  let parked = 0;
  const limited = pending.filter((p) => images.get(p.sequence)?.limited);
  for (const p of pending) if (!images.get(p.sequence)?.limited) send.push(p);
  let results: Map<string, Awaited<ReturnType<Admission['admit']>>>;
  try {
    results = await admission.admitAll(
      limited.map((p) => images.get(p.sequence) as TaskRecord),
      now,
    );
  } catch (error) {
    // The stream retries the batch from the first of them (admission is idempotent).
    return { send, parked, failed: limited.map((p) => p.sequence), errors: [error] };
  }
  for (const p of limited) {
    const image = images.get(p.sequence) as TaskRecord;
    const result = results.get(image.id);
    if (result?.kind !== 'admitted') {
      if (result?.kind === 'parked') parked++;
      continue;
    }
    send.push({ ...p, dispatch: { ...p.dispatch, message: admittedMessage(p.dispatch.message, result.rateLimits, image) } });
  }
  return { send, parked, failed, errors };
}

/** What a piece of admission work left for the stream to retry (it is idempotent). */
export interface Unsettled {
  failed: string[];
  errors: unknown[];
}

/** Run `work`; when it throws, the changes `sequences` stand for are retried. */
async function settle(sequences: readonly string[], work: () => Promise<unknown>): Promise<Unsettled> {
  try {
    await work();
    return { failed: [], errors: [] };
  } catch (error) {
    return { failed: [...sequences], errors: [error] };
  }
}

const merge = (all: readonly Unsettled[]): Unsettled => ({ failed: all.flatMap((u) => u.failed), errors: all.flatMap((u) => u.errors) });

const isOut = (status: TaskRecord['status']) => isTerminal(status) || status === 'PAUSED';
const leaves = (c: TableChange) => c.image.limited === true && isOut(c.image.status) && c.previous?.status !== c.image.status;

/**
 * The changes whose tasks give their slots back: tasks that went through admission and ended or
 * paused, each under the limits of its first change that left. A task whose last change in the
 * batch put it back in play keeps its slot: one paused and resumed within a batch keeps it for
 * the resumed version (which admission finds it holding), where giving it back after that version
 * was sent would let it run beside the waiter handed its slot.
 */
export function leavingChanges(changes: readonly TableChange[]): TableChange[] {
  const lastStatus = new Map(changes.map((c) => [c.image.id, c.image.status]));
  const firstLeave = new Map<string, TableChange>();
  for (const c of changes) if (leaves(c) && !firstLeave.has(c.image.id)) firstLeave.set(c.image.id, c);
  return [...firstLeave.values()].filter((c) => isOut(lastStatus.get(c.image.id) as TaskRecord['status']));
}

/**
 * The changes that gave a tenant's task a new queued version while it may still hold a slot of a
 * former lane's share (formerLanes: its history shows it in another lane), each task's last change
 * in the batch alone: that version is admitted on its current lane's share, and the former lanes'
 * shares are given back. Judged from the history, not from the change's previous image: a task
 * moved, paused and resumed within one batch, or moved while it ran and then retried, shows no
 * move in its last change.
 */
export function laneMoveChanges(changes: readonly TableChange[]): TableChange[] {
  const last = new Map(changes.map((c) => [c.image.id, c]));
  return [...last.values()].filter(
    (c) =>
      c.image.limited === true &&
      (c.image.status === 'QUEUED' || c.image.status === 'SCHEDULED') &&
      c.previous?.version !== c.image.version &&
      formerLanes(c.image).length > 0,
  );
}

/**
 * Tasks that ended or paused (leavingChanges): their slots go back, handed to waiters; tasks a
 * new version put back in line after a move (laneMoveChanges): their former lanes' shares go back.
 */
export async function releaseSlots(changes: readonly TableChange[], admission: Admission, now: number): Promise<Unsettled> {
  const leaving = leavingChanges(changes);
  const moved = laneMoveChanges(changes);
  // All at once: the releasers of one limit are handed its oldest waiters together (not raced).
  return settle(
    [...leaving, ...moved].map((c) => c.sequence),
    async () => {
      await admission.releaseAll(
        leaving.map((c) => c.image),
        now,
      );
      if (moved.length > 0)
        await admission.releaseFormerLanes(
          moved.map((c) => c.image),
          now,
        );
    },
  );
}

/**
 * The last task a batch submission parked on a limit was written: fill that limit's free slots
 * from its waiters (once per limit in a batch of changes; a retried fill is harmless).
 */
export async function fillParked(changes: readonly TableChange[], admission: Admission, now: number): Promise<Unsettled> {
  const byLimit = new Map<string, TableChange>();
  for (const c of changes) {
    const waitingFor = c.image.waitingFor;
    if (c.previous || c.image.status !== 'QUEUED' || !waitingFor?.fill) continue;
    const which = `${c.image.type}/${waitingFor.scope}/${waitingFor.key}`;
    if (!byLimit.has(which)) byLimit.set(which, c);
  }
  const results: Unsettled[] = [];
  for (const c of byLimit.values()) results.push(await settle([c.sequence], () => admission.fillFor(c.image, now)));
  return merge(results);
}

/** Items by key, each group in the order given (first seen, first in the map). */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/**
 * One lane's messages, the tenants taken in turn (each tenant's in stream order): a tenant whose
 * backlog was woken in the same batch as another tenant's few tasks does not put all of its
 * messages ahead of them in the queue. SQS fair queues do this on AWS by `MessageGroupId`; a
 * queue that does not (the emulator, ElasticMQ) then gets the same order from here.
 */
export function tenantsInTurn(items: readonly PendingDispatch[]): PendingDispatch[] {
  const groups = [...groupBy(items, (p) => p.dispatch.group).values()];
  const longest = Math.max(0, ...groups.map((g) => g.length));
  return Array.from({ length: longest }, (_, i) => groups.flatMap((g) => (i < g.length ? [g[i]] : []))).flat();
}

/** SendMessageBatch takes ten messages of one queue: group by lane, tenants in turn, then chunk. */
export function laneBatches(pending: readonly PendingDispatch[]): { lane: LaneName; items: PendingDispatch[] }[] {
  return [...groupBy(pending, (p) => p.dispatch.lane)].flatMap(([lane, unordered]) => {
    const items = tenantsInTurn(unordered);
    return Array.from({ length: Math.ceil(items.length / 10) }, (_, i) => ({ lane, items: items.slice(i * 10, i * 10 + 10) }));
  });
}

/** Streams are ordered: retrying from the earliest change not sent re-sends it and what follows. */
export function retryFrom(failedSequences: readonly string[]): string | undefined {
  if (failedSequences.length === 0) return undefined;
  return failedSequences.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
}

/** Send every pending message; returns the sequence numbers of those not sent (and why, for logs). */
export async function sendDispatches(
  sqs: SQSClient,
  queueUrls: Readonly<Record<LaneName, string>>,
  pending: readonly PendingDispatch[],
): Promise<{ failed: string[]; errors: { lane: LaneName; error: unknown }[] }> {
  const failed: string[] = [];
  const errors: { lane: LaneName; error: unknown }[] = [];
  await Promise.all(
    laneBatches(pending).map(async ({ lane, items }) => {
      try {
        const out = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrls[lane],
            Entries: items.map((p, n) => ({
              Id: String(n),
              MessageBody: JSON.stringify(p.dispatch.message),
              DelaySeconds: p.dispatch.delaySeconds || undefined,
              // SQS fair queues serve a quiet tenant first when another dominates the queue.
              MessageGroupId: p.dispatch.group,
            })),
          }),
        );
        for (const f of out.Failed ?? []) failed.push(items[Number(f.Id)].sequence);
      } catch (error) {
        errors.push({ lane, error });
        failed.push(...items.map((p) => p.sequence));
      }
    }),
  );
  return { failed, errors };
}

/** The dispatcher's hand-on: the messages of waiters handed a slot, sent like any (see Admission). */
export function handOnBy(
  sqs: SQSClient,
  queueUrls: () => Readonly<Record<LaneName, string>>,
  onError: (lane: LaneName, error: unknown) => void,
): HandOn {
  return async (dispatches) => {
    const { failed, errors } = await sendDispatches(
      sqs,
      queueUrls(),
      dispatches.map((dispatch, i) => ({ sequence: String(i), dispatch })),
    );
    for (const { lane, error } of errors) onError(lane, error);
    const lost = new Set(failed);
    return dispatches.map((_, i) => !lost.has(String(i)));
  };
}
