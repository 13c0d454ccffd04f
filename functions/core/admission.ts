/**
 * Admission: concurrency limits and fair share, applied when a task is dispatched, so a task that
 * must wait never enters its lane — it is parked in the table (no SQS receives, no invocations)
 * and woken, oldest first within its priority, when a holder gives its slot back.
 *
 * A slot is taken at dispatch and kept while the task is active (queued in its lane, running,
 * retried after a crash); it is given back when the task ends or pauses — that change reaches the
 * dispatcher through the stream, so it happens however the task ended. RUNNING ≤ admitted ≤ limit.
 * A slot whose holder ended without giving it back is reclaimed when someone finds the limit full,
 * with `slot-reclaimed` in the holder's history.
 */
import { type Dispatch, messageFor, type TaskMessage } from './dispatch.ts';
import { movedOn } from './errors.ts';
import { encodeEvent } from './history.ts';
import type { LimitStore } from './limit-store.ts';
import { HAND_OVER_MAX, waiterQueuedAt, waiterSortKeyOf } from './limit-store.ts';
import { isTerminal, type TaskRecord } from './model.ts';
import type { TaskStore } from './store.ts';
import {
  ADMISSION_ACTOR,
  type AppliedLimit,
  formerLaneShares,
  type LimitDefinition,
  limitId,
  limitsFor,
  type TenancySettings,
  waitedLimitIds,
} from './tenancy.ts';

/** A holder younger than this is not checked for having ended (it has just been admitted). */
const RECLAIM_AFTER_MS = 30_000;
/** Tasks of a batch admitted at once. */
const ADMISSION_CHUNK = 10;
/** Holders checked per reclaim (oldest first). */
const RECLAIM_BATCH = 25;
/**
 * A batch submission writes its waiter items before its tasks, so a waiter whose task is not
 * found yet may be younger than its task's write: it is skipped, and removed only after this.
 */
const WAITER_GRACE_MS = 60_000;

/** The API's limits, read at most once per `ttlMs` (a new limit applies within that). */
export class LimitCatalog {
  private cached: { at: number; value: Map<string, LimitDefinition> } | undefined;

  constructor(
    private readonly store: LimitStore,
    private readonly ttlMs: number,
  ) {}

  async get(now = Date.now()): Promise<Map<string, LimitDefinition>> {
    if (!this.cached || now - this.cached.at >= this.ttlMs) {
      const definitions = await this.store.definitions();
      this.cached = { at: now, value: new Map(definitions.map((d) => [limitId(d.scope, d.key), d])) };
    }
    return this.cached.value;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

export type AdmissionResult =
  | { kind: 'admitted'; rateLimits: AppliedLimit[] }
  | { kind: 'parked'; limit: AppliedLimit }
  /** The task moved on while being admitted: nothing to send. */
  | { kind: 'stale' };

const describe = (limit: AppliedLimit) => `${limit.scope} ${limit.key} (limit ${limit.concurrency})`;

/** Sends the messages of waiters handed a slot; returns, for each, whether it was sent. */
export type HandOn = (dispatches: readonly Dispatch[]) => Promise<boolean[]>;

/** The message of an admitted task, with the rate limits its start must pass and the start time one reserved. */
export function admittedMessage(message: TaskMessage, rateLimits: readonly AppliedLimit[], task: TaskRecord): TaskMessage {
  const rates = rateLimits.map((l) => [l.id, l.rate?.limit ?? 0, l.rate?.periodSeconds ?? 0] as [string, number, number]);
  return {
    ...message,
    ...(rates.length ? { r: rates } : {}),
    ...(task.rateReservation !== undefined ? { rr: task.rateReservation } : {}),
  };
}

export class Admission {
  /**
   * @param handOn When given (the dispatcher), a waiter handed a slot — one whose only concurrency
   *   limit that is, running on Lambda — gets its message sent then and there: no wake-up write,
   *   no second trip through the stream and the dispatcher. Without it, waiters are woken with a
   *   new version, which the dispatcher admits.
   */
  constructor(
    private readonly limits: LimitStore,
    private readonly tasks: TaskStore,
    private readonly catalog: LimitCatalog,
    private readonly settings: TenancySettings,
    private readonly handOn?: HandOn,
  ) {}

  /** A limit definition changed (the dispatcher sees it on the stream). */
  invalidateLimits(): void {
    this.catalog.invalidate();
  }

  async applicable(task: TaskRecord, now: number): Promise<AppliedLimit[]> {
    return limitsFor(task, await this.catalog.get(now), this.settings);
  }

  /**
   * Admit a batch of dispatched tasks: each takes every concurrency slot it needs, or is parked on
   * the first that is full. The waiter items of the batch are written together, after each parked
   * task says what it waits for (a releaser wakes only a task that says so); then every limit a
   * task parked on is filled from its oldest waiters while it has room — which also closes the
   * race with a slot given back meanwhile that found no waiter yet.
   */
  async admitAll(tasks: readonly TaskRecord[], now = Date.now()): Promise<Map<string, AdmissionResult>> {
    const parked: { limit: AppliedLimit; sortKey: string; taskId: string }[] = [];
    const results = new Map<string, AdmissionResult>();
    // In chunks, so a limit found full is known to the rest of the batch, with its holders then: a
    // task never admitted before (version 1) that is not among them — it did not take its slot at
    // intake — cannot hold one, and parks without asking again.
    const full = new Map<string, ReadonlySet<string>>();
    const held = await this.heldSlots(tasks, now);
    for (let i = 0; i < tasks.length; i += ADMISSION_CHUNK) {
      await Promise.all(
        tasks.slice(i, i + ADMISSION_CHUNK).map(async (task) => results.set(task.id, await this.admitOne(task, now, parked, full, held))),
      );
    }
    const byLimit = new Map<string, { limit: AppliedLimit; waiters: { sortKey: string; taskId: string }[] }>();
    for (const p of parked) {
      const entry = byLimit.get(p.limit.id) ?? { limit: p.limit, waiters: [] };
      entry.waiters.push({ sortKey: p.sortKey, taskId: p.taskId });
      byLimit.set(p.limit.id, entry);
    }
    for (const { limit, waiters } of byLimit.values()) {
      await this.limits.parkMany(limit.id, waiters);
      await this.fillFreeSlots(limit, now);
    }
    return results;
  }

  async admit(task: TaskRecord, now = Date.now()): Promise<AdmissionResult> {
    return (await this.admitAll([task], now)).get(task.id) as AdmissionResult;
  }

  /**
   * The holders of each concurrency limit that several of the batch's tasks share, or that a task
   * woken for it may already hold: one consistent read per such limit. A task found among them
   * holds its slot already (taken at intake, or handed over when it was woken), which a take
   * would only confirm with a failed conditional write — a write unit and a round trip each, in
   * front of every send of the batch.
   */
  private async heldSlots(tasks: readonly TaskRecord[], now: number): Promise<Map<string, ReadonlySet<string>>> {
    const candidates = new Map<string, number>();
    for (const task of tasks) {
      for (const limit of (await this.applicable(task, now)).filter((l) => l.concurrency !== undefined)) {
        // A first version alone takes its slot; a woken one (a later version) may hold one already.
        candidates.set(limit.id, (candidates.get(limit.id) ?? 0) + (task.version > 1 ? 2 : 1));
      }
    }
    const read = [...candidates].filter(([, weight]) => weight > 1).map(([id]) => id);
    const states = await Promise.all(read.map((id) => this.limits.state(id)));
    return new Map(read.map((id, i) => [id, new Set(states[i].holders.map((h) => h.taskId))]));
  }

  private async admitOne(
    task: TaskRecord,
    now: number,
    parked: { limit: AppliedLimit; sortKey: string; taskId: string }[],
    full: Map<string, ReadonlySet<string>>,
    held: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<AdmissionResult> {
    const applied = await this.applicable(task, now);
    const taken: AppliedLimit[] = [];
    for (const limit of applied.filter((l) => l.concurrency !== undefined)) {
      if (held.get(limit.id)?.has(task.id) || full.get(limit.id)?.has(task.id)) {
        taken.push(limit); // it holds its slot already (taken at intake, or handed to it)
        continue;
      }
      const holders = full.get(limit.id);
      const outcome = holders && task.version === 1 ? undefined : await this.takeOrReclaim(limit, task.id, now);
      if (outcome === true) {
        taken.push(limit);
        continue;
      }
      if (outcome) full.set(limit.id, new Set(outcome.holders.map((h) => h.taskId)));
      // Full. A waiting task holds nothing: its other slots go to tasks that can run.
      for (const holding of taken) await this.giveBack(holding, task.id, now);
      try {
        await this.tasks.annotate(task, {
          reason: `waiting-for-slot: ${describe(limit)}`,
          actor: ADMISSION_ACTOR,
          set: { waitingFor: { scope: limit.scope, key: limit.key } },
          bumpVersion: false,
          now,
        });
      } catch (error) {
        // It moved on (cancelled, changed): its new version is dispatched on its own. A refused
        // write is thrown: the stream retries its admission (taken for stale, it went nowhere).
        if (movedOn(error)) return { kind: 'stale' };
        throw error;
      }
      parked.push({ limit, sortKey: waiterSortKeyOf(task), taskId: task.id });
      return { kind: 'parked', limit };
    }
    return { kind: 'admitted', rateLimits: applied.filter((l) => l.rate !== undefined) };
  }

  /** The task ended or paused: give each slot back, to the oldest waiter when there is one. */
  async release(task: TaskRecord, now = Date.now()): Promise<void> {
    await this.releaseAll([task], now);
  }

  /**
   * Tasks ended or paused: give their slots back. The releasers of one limit hand their slots to
   * as many of its oldest waiters in one write, and the waiters are woken together; limits are
   * released side by side. Whatever that fast path cannot settle (a releaser that held nothing, a
   * waiter that moved on) goes back through the one-by-one path, which looks again.
   */
  async releaseAll(tasks: readonly TaskRecord[], now = Date.now()): Promise<void> {
    const catalog = await this.catalog.get(now);
    await this.giveBackAll(
      tasks.map((task) => ({ task, limits: limitsFor(task, catalog, this.settings) })),
      now,
    );
    // A task whose history shows it in other lanes may still hold a slot of one of their shares.
    // Given back on their own: one releaser that holds nothing fails a whole hand-over write.
    await this.releaseFormerLanes(tasks, now);
  }

  /**
   * Tasks whose history shows them in other lanes (formerLaneShares: a priority change, the
   * sweeper's aging, a Lambda attempt timed out into a container): the slots of those lanes'
   * shares go back. A new queued version takes a slot of its current lane's share at its
   * admission, and the message of the old one is fenced off.
   */
  async releaseFormerLanes(tasks: readonly TaskRecord[], now = Date.now()): Promise<void> {
    await this.giveBackAll(
      tasks.map((task) => ({ task, limits: formerLaneShares(task, this.settings) })),
      now,
    );
  }

  /** Give back each task's slots of the given limits, the releasers of one limit together. */
  private async giveBackAll(releases: readonly { task: TaskRecord; limits: readonly AppliedLimit[] }[], now: number): Promise<void> {
    const byLimit = new Map<string, { limit: AppliedLimit; holders: string[] }>();
    for (const { task, limits } of releases) {
      for (const limit of limits.filter((l) => l.concurrency !== undefined)) {
        const entry = byLimit.get(limit.id) ?? { limit, holders: [] };
        if (!entry.holders.includes(task.id)) entry.holders.push(task.id);
        byLimit.set(limit.id, entry);
      }
    }
    await Promise.all([...byLimit.values()].map(({ limit, holders }) => this.giveBackMany(limit, holders, now)));
  }

  /**
   * The holders' slots go to as many oldest waiters: one read of the waiters, the hand-overs
   * written side by side (HAND_OVER_MAX pairs a write: disjoint holders of one item), the waiter items removed
   * together and the waiters woken together.
   */
  private async giveBackMany(limit: AppliedLimit, holders: readonly string[], now: number): Promise<void> {
    if (holders.length === 1) return this.giveBack(limit, holders[0], now);
    const waiters = await this.nextWaiters(limit, holders.length, new Set(holders));
    const pairs = waiters.map((w, i) => ({ from: holders[i], to: w }));
    const chunks = Array.from({ length: Math.ceil(pairs.length / HAND_OVER_MAX) }, (_, i) =>
      pairs.slice(i * HAND_OVER_MAX, (i + 1) * HAND_OVER_MAX),
    );
    const handed = await Promise.all(
      chunks.map((chunk) =>
        this.limits.handOverMany(
          limit.id,
          chunk.map((p) => ({ from: p.from, to: p.to.task.id })),
          now,
        ),
      ),
    );
    const moved = chunks.filter((_, i) => handed[i]).flat();
    if (moved.length > 0) {
      const woken = await this.wakeWaiters(
        limit,
        moved.map((p) => p.to),
        now,
      );
      // A waiter that moved on meanwhile holds a slot it will not use: give it back the slow way.
      for (const [i, ok] of woken.entries()) if (!ok) await this.giveBack(limit, moved[i].to.task.id, now);
    }
    // Whatever the fast path could not settle goes back one by one, which looks again.
    for (const p of chunks.filter((_, i) => !handed[i]).flat()) await this.giveBack(limit, p.from, now);
    for (const holder of holders.slice(pairs.length)) await this.giveBack(limit, holder, now);
  }

  /**
   * A batch submission parked tasks on the limit `task` waits for (it is the last of them, written
   * after their waiter items): fill the limit's free slots from its oldest waiters, reclaiming the
   * slots of holders that ended without giving them back.
   */
  async fillFor(task: TaskRecord, now = Date.now()): Promise<void> {
    const waitingFor = task.waitingFor;
    const limit = (await this.applicable(task, now)).find(
      (l) => l.concurrency !== undefined && l.scope === waitingFor?.scope && l.key === waitingFor.key,
    );
    if (!limit) {
      // The limit was deleted meanwhile; that change woke the waiters it found, perhaps before
      // these were written: wake them now.
      if (waitingFor) await this.wakeAll(limitId(waitingFor.scope, waitingFor.key), now);
      return;
    }
    const { running, holders } = await this.limits.state(limit.id);
    if (running >= (limit.concurrency as number)) await this.reclaim(limit, holders, now);
    await this.fillFreeSlots(limit, now);
  }

  /** Wake every task waiting for a limit (it was deleted or raised). */
  async wakeAll(id: string, now = Date.now()): Promise<number> {
    let woken = 0;
    let after: string | undefined;
    for (;;) {
      const waiters = await this.limits.oldestWaiters(id, 25, after);
      for (const waiter of waiters) {
        const task = await this.tasks.find(waiter.taskId);
        if (!task && now - waiterQueuedAt(waiter.sortKey) < WAITER_GRACE_MS) continue; // its write is on its way
        // Woken before its item goes (wakeWaiters says why).
        if (task?.status === 'QUEUED' && task.waitingFor && (await this.wake(task, `slot-free: limit ${id} changed`, now))) woken++;
        await this.limits.unpark(id, waiter.sortKey);
      }
      if (waiters.length < 25) return woken;
      after = waiters[waiters.length - 1].sortKey;
    }
  }

  /** true when the task holds a slot now; otherwise the holders the limit was found full with. */
  private async takeOrReclaim(
    limit: AppliedLimit,
    taskId: string,
    now: number,
  ): Promise<true | { holders: readonly { taskId: string; since: number }[] }> {
    const first = await this.limits.take(limit.id, limit.concurrency as number, taskId, now);
    if (first.kind !== 'full') return true;
    if ((await this.reclaim(limit, first.holders, now)) === 0) return first;
    const second = await this.limits.take(limit.id, limit.concurrency as number, taskId, now);
    return second.kind === 'full' ? second : true;
  }

  /** Give back the slots of holders that ended without doing so (to the oldest waiters first); returns how many. */
  private async reclaim(limit: AppliedLimit, holders: readonly { taskId: string; since: number }[], now: number): Promise<number> {
    const stale = holders.filter((h) => now - h.since >= RECLAIM_AFTER_MS).slice(0, RECLAIM_BATCH);
    let reclaimed = 0;
    for (const h of stale) {
      const holder = await this.tasks.find(h.taskId);
      if (holder && !isTerminal(holder.status) && holder.status !== 'PAUSED') continue;
      // Given back like any slot: to the oldest waiter first, so no waiter sleeps beside a free slot.
      const before = (await this.limits.state(limit.id)).holders.some((x) => x.taskId === h.taskId);
      if (!before) continue;
      await this.giveBack(limit, h.taskId, now);
      reclaimed++;
      if (holder) {
        await this.tasks
          .annotate(holder, {
            reason: `slot-reclaimed: ${describe(limit)}; it ended without giving it back`,
            actor: ADMISSION_ACTOR,
            bumpVersion: false,
            now,
          })
          .catch(() => undefined); // the history note is best effort; the slot is back either way
      }
    }
    return reclaimed;
  }

  /**
   * Give a slot back: straight to the oldest waiter that still waits, or to the limit — and then
   * look at the waiters once more and fill what is free. That second look closes the race with a
   * task that parked after the first: either the release came before its own second look (it
   * takes the slot), or its waiter item came before ours (we wake it).
   */
  private async giveBack(limit: AppliedLimit, holderId: string, now: number): Promise<void> {
    if ((await this.handToWaiter(limit, holderId, now)) !== 'nobody-waits') return;
    await this.limits.release(limit.id, holderId);
    await this.fillFreeSlots(limit, now);
  }

  private async handToWaiter(limit: AppliedLimit, holderId: string, now: number): Promise<'handed' | 'held-nothing' | 'nobody-waits'> {
    for (;;) {
      const next = await this.nextWaiter(limit, holderId);
      if (!next) return 'nobody-waits';
      if (!(await this.limits.handOver(limit.id, holderId, next.task.id, now))) {
        // Either this holder has no slot to give, or the waiter got one from another holder.
        const { holders } = await this.limits.state(limit.id);
        if (holders.some((h) => h.taskId === next.task.id)) {
          // A waiter that holds a slot and still waits was handed one whose wake-up may never come:
          // a dispatcher that stopped between the two (this release retried by the stream is one),
          // or an answer lost after the write. Wake it. If its hand-over is still under way, one of
          // the two wakes fails and that side gives the slot on: the woken task is admitted afresh.
          await this.wake(next.task, `slot-free: ${describe(limit)}`, now);
          await this.limits.unpark(limit.id, next.sortKey);
        }
        if (!holders.some((h) => h.taskId === holderId)) return 'held-nothing';
        continue; // it still holds its slot: look at the waiters again
      }
      const [woken] = await this.wakeWaiters(limit, [next], now);
      if (woken) return 'handed';
      // It moved on between the read and the wake: take the slot back and try the next waiter.
      await this.limits.handOver(limit.id, next.task.id, holderId, now);
    }
  }

  /** Wake waiters while the limit has room, each with a slot taken on its behalf. */
  private async fillFreeSlots(limit: AppliedLimit, now: number): Promise<void> {
    for (;;) {
      const next = await this.nextWaiter(limit);
      if (!next) return;
      if ((await this.limits.take(limit.id, limit.concurrency as number, next.task.id, now)).kind === 'full') return;
      const [woken] = await this.wakeWaiters(limit, [next], now);
      if (!woken) await this.limits.release(limit.id, next.task.id);
    }
  }

  /**
   * Wake waiters handed a slot of `limit` (a write each, or their messages sent straight away),
   * then remove the waiter items of those woken or sent. An item goes only after its wake-up:
   * one whose write failed — the task moved on, or the table refused it (throttled) — keeps its
   * item, so the caller's next look finds it again (or drops it as stale). Removed beside the
   * write, a refused wake-up left a task waiting that no waiter item names: nobody woke it.
   * Returns, for each, whether it was woken.
   */
  private async wakeWaiters(
    limit: AppliedLimit,
    waiters: readonly { sortKey: string; task: TaskRecord }[],
    now: number,
  ): Promise<boolean[]> {
    const reason = `slot-free: ${describe(limit)}`;
    const direct = await Promise.all(waiters.map((w) => this.handedOnDispatch(w.task, limit, reason, now)));
    const sending = waiters.flatMap((w, i) => (direct[i] ? [{ waiter: w, dispatch: direct[i] }] : []));
    const writing = waiters.filter((_, i) => !direct[i]);
    const [wakes, sent] = await Promise.all([
      Promise.allSettled(writing.map((w) => this.wake(w.task, reason, now))),
      sending.length > 0 && this.handOn ? this.handOn(sending.map((s) => s.dispatch)) : Promise.resolve([]),
    ]);
    const woken = wakes.map((w) => w.status === 'fulfilled' && w.value);
    // A waiter sent its message keeps its item until the message is out, too: a dispatcher
    // stopped before that leaves it findable, holding its slot while it waits, and the release
    // the stream retries wakes it (handToWaiter).
    await this.limits.unparkMany(limit.id, [
      ...writing.filter((_, i) => woken[i]).map((w) => w.sortKey),
      ...sending.filter((_, i) => sent[i]).map((s) => s.waiter.sortKey),
    ]);
    const refused = wakes.find((w) => w.status === 'rejected');
    if (refused) throw refused.reason;
    if (sent.some((ok) => !ok)) throw new Error(`a message for a waiter handed a slot of ${limit.id} was not sent`);
    // Sent ones were handed on; the rest are woken in the order written.
    let written = 0;
    return direct.map((dispatch) => (dispatch ? true : woken[written++]));
  }

  /** The message a waiter handed a slot of `limit` goes out with, when it can skip its wake-up (see handOn). */
  private async handedOnDispatch(task: TaskRecord, limit: AppliedLimit, reason: string, now: number): Promise<Dispatch | undefined> {
    // A container's runner starts from the task's id and version alone (the slot-free entry would be lost).
    if (!this.handOn || task.runtime === 'container') return undefined;
    const applied = await this.applicable(task, now);
    const concurrency = applied.filter((l) => l.concurrency !== undefined);
    if (concurrency.length !== 1 || concurrency[0].id !== limit.id) return undefined; // its other slots need admission
    const dispatch = messageFor(task, now);
    if (!dispatch) return undefined;
    const message = admittedMessage(
      dispatch.message,
      applied.filter((l) => l.rate !== undefined),
      task,
    );
    return { ...dispatch, message: { ...message, h: [reason, now] } };
  }

  private async nextWaiter(limit: AppliedLimit, except?: string): Promise<{ sortKey: string; task: TaskRecord } | undefined> {
    return (await this.nextWaiters(limit, 1, except === undefined ? undefined : new Set([except])))[0];
  }

  /** Up to `count` oldest waiters that still wait, read a page at a time (stale waiter items are removed on the way). */
  private async nextWaiters(
    limit: AppliedLimit,
    count: number,
    except?: ReadonlySet<string>,
  ): Promise<{ sortKey: string; task: TaskRecord }[]> {
    const found: { sortKey: string; task: TaskRecord }[] = [];
    const page = Math.max(10, count);
    let after: string | undefined;
    for (;;) {
      const waiters = await this.limits.oldestWaiters(limit.id, page, after);
      // Read only as many tasks at once as are still wanted (most waiters still wait), in one
      // BatchGetItem for each such run.
      const tasks: (TaskRecord | undefined)[] = [];
      for (const [i, waiter] of waiters.entries()) {
        if (i >= tasks.length) {
          const wanted = waiters.slice(i, i + count - found.length);
          const read = await this.tasks.findMany(wanted.filter((w) => !except?.has(w.taskId)).map((w) => w.taskId));
          tasks.push(...wanted.map((w) => (except?.has(w.taskId) ? undefined : read.get(w.taskId))));
        }
        const task = tasks[i];
        // A waiter item the task no longer stands for (a new version waits for another limit,
        // say in the lane a priority change moved it to) is stale: handed this slot, the task
        // would hold it unused.
        if (task?.status === 'QUEUED' && task.waitingFor && waitedLimitIds(task).includes(limit.id)) {
          found.push({ sortKey: waiter.sortKey, task });
          if (found.length === count) return found;
          continue;
        }
        if (!task && !except?.has(waiter.taskId) && Date.now() - waiterQueuedAt(waiter.sortKey) < WAITER_GRACE_MS) continue;
        await this.limits.unpark(limit.id, waiter.sortKey); // gone, or admitted another way
      }
      if (waiters.length < page) return found;
      after = waiters[waiters.length - 1].sortKey;
    }
  }

  /**
   * A new version of the waiting task: the stream brings it back to the dispatcher, which admits
   * it. false: the task moved on (changed or gone). Any other failure (a throttled table) is
   * thrown, as a message not sent is: the stream retries, and its next look finds the waiter.
   */
  private async wake(task: TaskRecord, reason: string, now: number): Promise<boolean> {
    try {
      await this.tasks.annotate(task, { reason, actor: ADMISSION_ACTOR, remove: ['waitingFor'], bumpVersion: true, now });
      return true;
    } catch (error) {
      if (movedOn(error)) return false;
      throw error;
    }
  }
}

/** A batch's tasks, the concurrency limits of each, and those several of them share. */
interface SharedSlots {
  records: readonly TaskRecord[];
  limitsOf: ReadonlyMap<string, AppliedLimit[]>;
  shared: readonly AppliedLimit[];
  now: number;
}

/** Whether every task of the batch shares at most one of its limits with the others. */
const sharesOneEach = ({ records, limitsOf, shared }: SharedSlots): boolean => {
  const ids = new Set(shared.map((l) => l.id));
  return records.every((r) => (limitsOf.get(r.id) ?? []).filter((l) => ids.has(l.id)).length <= 1);
};

/**
 * Admission of a batch submission at intake, before its tasks are written. A backlog submitted at
 * once would otherwise reach the dispatcher task by task, each parked with a write of its own,
 * while every task submitted after it — another tenant's single task too — waits in the stream
 * behind them. Here, for each concurrency limit several tasks of the batch share, the slots the
 * limit has free are taken for the first tasks (one write per limit) and the rest are born
 * waiting: their waiter items are written first, their inserts do not invoke the dispatcher, and
 * the last of them (written last) asks the dispatcher to fill the limit's free slots — which also
 * closes the race with a holder that gave its slot back before those waiter items existed.
 */
export class BatchAdmission {
  constructor(
    private readonly limits: LimitStore,
    private readonly catalog: LimitCatalog,
    private readonly settings: TenancySettings,
  ) {}

  /** Takes slots and writes waiter items; returns the records to write first and those to write last. */
  async prepare(records: readonly TaskRecord[], now: number): Promise<{ first: TaskRecord[]; last: TaskRecord[] }> {
    const catalog = await this.catalog.get(now);
    const limitsOf = new Map<string, AppliedLimit[]>();
    const groupSize = new Map<string, { limit: AppliedLimit; tasks: number }>();
    for (const r of records) {
      // A scheduled task is admitted when it is due, by the dispatcher.
      if (!r.limited || r.status !== 'QUEUED') continue;
      const applied = limitsFor(r, catalog, this.settings).filter((l) => l.concurrency !== undefined);
      limitsOf.set(r.id, applied);
      for (const l of applied) groupSize.set(l.id, { limit: l, tasks: (groupSize.get(l.id)?.tasks ?? 0) + 1 });
    }
    // A limit only one task of the batch uses is left to the dispatcher, like a single submission's.
    const shared = [...groupSize.values()].filter((g) => g.tasks > 1).map((g) => g.limit);
    if (shared.length === 0) return { first: [...records], last: [] };
    const batch: SharedSlots = { records, limitsOf, shared, now };
    const parked = sharesOneEach(batch) ? await this.takeInTurn(batch) : await this.takeAsRead(batch);
    const lastOf = new Map<string, string>();
    for (const r of records) {
      const limit = parked.get(r.id);
      if (limit) lastOf.set(limit.id, r.id);
    }
    const sentinels = new Set(lastOf.values());
    const waiters = new Map<string, { sortKey: string; taskId: string }[]>();
    const out = records.map((r) => {
      const limit = parked.get(r.id);
      if (!limit) return r;
      waiters.set(limit.id, [...(waiters.get(limit.id) ?? []), { sortKey: waiterSortKeyOf(r), taskId: r.id }]);
      const reason = `waiting-for-slot: ${describe(limit)}`;
      return {
        ...r,
        waitingFor: { scope: limit.scope, key: limit.key, ...(sentinels.has(r.id) ? { fill: true as const } : {}) },
        history: [...r.history, encodeEvent({ at: now, from: r.status, to: r.status, reason, attempt: r.attempt, actor: ADMISSION_ACTOR })],
      };
    });
    await Promise.all([...waiters].map(([id, list]) => this.limits.parkMany(id, list)));
    return { first: out.filter((r) => !sentinels.has(r.id)), last: out.filter((r) => sentinels.has(r.id)) };
  }

  /**
   * Each task shares at most one limit with the batch: each limit's tasks take its slots in batch
   * order, optimistically (takeMany: a batch that fits costs one write and no read); the rest wait.
   * Returns the limit each waiting task is parked on.
   */
  private async takeInTurn({ records, limitsOf, shared, now }: SharedSlots): Promise<Map<string, AppliedLimit>> {
    const parked = new Map<string, AppliedLimit>();
    await Promise.all(
      shared.map(async (l) => {
        const tasks = records.filter((r) => limitsOf.get(r.id)?.some((x) => x.id === l.id)).map((r) => r.id);
        const taken = await this.limits.takeMany(l.id, l.concurrency as number, tasks, now);
        for (const id of tasks.slice(taken)) parked.set(id, l);
      }),
    );
    return parked;
  }

  /**
   * Some task shares several limits with the batch: one waits if any of them is full, so the free
   * slots are read first and the tasks decided in batch order; takers whose slots were taken
   * meanwhile by someone else go to the dispatcher as usual. Returns the limit each waiting task
   * is parked on.
   */
  private async takeAsRead({ records, limitsOf, shared, now }: SharedSlots): Promise<Map<string, AppliedLimit>> {
    const free = new Map<string, number>();
    await Promise.all(
      shared.map(async (l) => free.set(l.id, Math.max(0, (l.concurrency as number) - (await this.limits.state(l.id)).running))),
    );
    const takers = new Map<string, string[]>();
    const parked = new Map<string, AppliedLimit>();
    for (const r of records) {
      const decided = (limitsOf.get(r.id) ?? []).filter((l) => free.has(l.id));
      if (decided.length === 0) continue;
      const full = decided.find((l) => free.get(l.id) === 0);
      if (full) {
        parked.set(r.id, full);
        continue;
      }
      for (const l of decided) {
        free.set(l.id, (free.get(l.id) as number) - 1);
        takers.set(l.id, [...(takers.get(l.id) ?? []), r.id]);
      }
    }
    await Promise.all(shared.map((l) => this.limits.takeMany(l.id, l.concurrency as number, takers.get(l.id) ?? [], now)));
    return parked;
  }
}
