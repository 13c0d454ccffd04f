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
import type { LimitStore } from './limit-store.ts';
import { waiterSortKey } from './limit-store.ts';
import { isTerminal, type TaskRecord } from './model.ts';
import type { TaskStore } from './store.ts';
import { type AppliedLimit, type LimitDefinition, limitId, limitsFor, type TenancySettings } from './tenancy.ts';

/** A holder younger than this is not checked for having ended (it has just been admitted). */
const RECLAIM_AFTER_MS = 30_000;
/** Tasks of a batch admitted at once. */
const ADMISSION_CHUNK = 10;
/** Holders checked per reclaim (oldest first). */
const RECLAIM_BATCH = 25;

export const ADMISSION_ACTOR = 'system:admission';

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

export class Admission {
  constructor(
    private readonly limits: LimitStore,
    private readonly tasks: TaskStore,
    private readonly catalog: LimitCatalog,
    private readonly settings: TenancySettings,
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
    // In chunks, so a limit found full is known to the rest of the batch: a task never admitted
    // before (version 1) cannot hold its slot, and parks without asking again.
    const full = new Set<string>();
    for (let i = 0; i < tasks.length; i += ADMISSION_CHUNK) {
      await Promise.all(
        tasks.slice(i, i + ADMISSION_CHUNK).map(async (task) => results.set(task.id, await this.admitOne(task, now, parked, full))),
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

  private async admitOne(
    task: TaskRecord,
    now: number,
    parked: { limit: AppliedLimit; sortKey: string; taskId: string }[],
    full: Set<string>,
  ): Promise<AdmissionResult> {
    const applied = await this.applicable(task, now);
    const taken: AppliedLimit[] = [];
    for (const limit of applied.filter((l) => l.concurrency !== undefined)) {
      const knownFull = full.has(limit.id) && task.version === 1;
      if (!knownFull && (await this.takeOrReclaim(limit, task.id, now))) {
        taken.push(limit);
        continue;
      }
      full.add(limit.id);
      // Full. A waiting task holds nothing: its other slots go to tasks that can run.
      for (const held of taken) await this.giveBack(held, task.id, now);
      try {
        await this.tasks.annotate(task, {
          reason: `waiting-for-slot: ${describe(limit)}`,
          actor: ADMISSION_ACTOR,
          set: { waitingFor: { scope: limit.scope, key: limit.key } },
          bumpVersion: false,
          now,
        });
      } catch {
        return { kind: 'stale' }; // it moved on (cancelled, changed): its new version is dispatched on its own
      }
      parked.push({ limit, sortKey: waiterSortKey(task.priority, task.queuedAt ?? task.createdAt, task.id), taskId: task.id });
      return { kind: 'parked', limit };
    }
    return { kind: 'admitted', rateLimits: applied.filter((l) => l.rate !== undefined) };
  }

  /** The task ended or paused: give each slot back, to the oldest waiter when there is one. */
  async release(task: TaskRecord, now = Date.now()): Promise<void> {
    const applied = await this.applicable(task, now);
    for (const limit of applied.filter((l) => l.concurrency !== undefined)) await this.giveBack(limit, task.id, now);
  }

  /** Wake every task waiting for a limit (it was deleted or raised). */
  async wakeAll(id: string, now = Date.now()): Promise<number> {
    let woken = 0;
    for (;;) {
      const waiters = await this.limits.oldestWaiters(id, 25);
      if (waiters.length === 0) return woken;
      for (const waiter of waiters) {
        await this.limits.unpark(id, waiter.sortKey);
        const task = await this.tasks.find(waiter.taskId);
        if (task?.status === 'QUEUED' && task.waitingFor && (await this.wake(task, `slot-free: limit ${id} changed`, now))) woken++;
      }
    }
  }

  private async takeOrReclaim(limit: AppliedLimit, taskId: string, now: number): Promise<boolean> {
    const first = await this.limits.take(limit.id, limit.concurrency as number, taskId, now);
    if (first.kind !== 'full') return true;
    const stale = first.holders.filter((h) => now - h.since >= RECLAIM_AFTER_MS).slice(0, RECLAIM_BATCH);
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
    if (reclaimed === 0) return false;
    return (await this.limits.take(limit.id, limit.concurrency as number, taskId, now)).kind !== 'full';
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
        if (!holders.some((h) => h.taskId === holderId)) return 'held-nothing';
        if (!holders.some((h) => h.taskId === next.task.id)) return 'held-nothing';
        await this.limits.unpark(limit.id, next.sortKey);
        continue;
      }
      await this.limits.unpark(limit.id, next.sortKey);
      if (await this.wake(next.task, `slot-free: ${describe(limit)}`, now)) return 'handed';
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
      await this.limits.unpark(limit.id, next.sortKey);
      if (!(await this.wake(next.task, `slot-free: ${describe(limit)}`, now))) await this.limits.release(limit.id, next.task.id);
    }
  }

  /** The oldest waiter that still waits (stale waiter items are removed on the way). */
  private async nextWaiter(limit: AppliedLimit, except?: string): Promise<{ sortKey: string; task: TaskRecord } | undefined> {
    for (;;) {
      const waiters = await this.limits.oldestWaiters(limit.id, 10);
      for (const waiter of waiters) {
        const task = waiter.taskId === except ? undefined : await this.tasks.find(waiter.taskId);
        if (task?.status === 'QUEUED' && task.waitingFor) return { sortKey: waiter.sortKey, task };
        await this.limits.unpark(limit.id, waiter.sortKey); // gone, or admitted another way
      }
      if (waiters.length < 10) return undefined;
    }
  }

  /** A new version of the waiting task: the stream brings it back to the dispatcher, which admits it. */
  private async wake(task: TaskRecord, reason: string, now: number): Promise<boolean> {
    try {
      await this.tasks.annotate(task, { reason, actor: ADMISSION_ACTOR, remove: ['waitingFor'], bumpVersion: true, now });
      return true;
    } catch {
      return false;
    }
  }
}
