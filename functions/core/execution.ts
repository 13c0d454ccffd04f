/**
 * Running one attempt of a task that has been started (claimed by a conditional write): the same
 * code runs in the Lambda worker and in the container runner.
 */
import type { TaskMessage } from './dispatch.ts';
import { StaleVersion, TaskNotFound } from './errors.ts';
import { MAX_RESULT_BYTES } from './limits.ts';
import type { ControlRequest, TaskRecord } from './model.ts';
import { type AttemptEnd, decideAfterAttempt } from './retrying.ts';
import { SETTINGS } from './settings.ts';
import type { TaskStore } from './store.ts';
import { NonRetryableError, type TaskContext, type TaskRegistry } from './task-types.ts';

/** Progress writes are coalesced to at most one per this many milliseconds. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Thrown inside a task by ctx.progress/ctx.checkpoint (and used as the abort reason) when asked to stop. */
export class TaskInterrupted extends Error {
  override name = 'TaskInterrupted';
  constructor(readonly control: ControlRequest | 'timeout' | 'evicted' | 'superseded' | 'lease-lost') {
    super(`task interrupted: ${control}`);
  }
}

/** The attempt's lease: written with its start, renewed every third of it by its heartbeats. */
export interface LeaseOptions {
  ms: number;
  /** Container attempts put their lease in the sweep index: the sweeper is their watchdog. */
  indexed: boolean;
}

/**
 * The host's last line of defence for one attempt: `hold(deadline)` says the process must have
 * stopped the body by then unless the lease is renewed (a renewal holds a later deadline);
 * `release()` says the body has stopped. A host that cannot stop a body any other way (it
 * ignores its signal, or blocks the event loop) kills itself at the deadline.
 */
export interface LeaseGuard {
  hold(deadline: number): void;
  release(): void;
}

export interface AttemptOptions {
  store: TaskStore;
  registry: TaskRegistry;
  actor: string;
  lease: LeaseOptions;
  /** Fires when the host must stop (SIGTERM): the task is handed back without using an attempt. */
  evict?: AbortSignal;
  /** Once a cancel is requested, how long to wait for the task to stop before recording CANCELLED anyway. @default SETTINGS.cancelGraceMs */
  cancelGraceMs?: number;
  /**
   * How often a running task's control requests are polled when it writes nothing (an eventually
   * consistent read each interval; tasks that report progress need none). @default 0: never
   */
  controlPollMs?: number;
  /** A guard per attempt from the host (see LeaseGuard). @default none: nothing kills the host */
  leaseGuard?: () => LeaseGuard;
  /**
   * The attempt runs without a start write yet (an idempotent type, see processMessage): `queued`
   * is the item as read. The start is written if the task outlives `lazyStartMs` or reports
   * progress; otherwise one write records start and outcome together.
   */
  unstarted?: { queued: TaskRecord; message: TaskMessage; lazyStartMs: number };
  now?: () => number;
}

export interface AttemptReport {
  /** The record after the outcome write, or undefined when the write lost its fence (someone else moved the task). */
  final: TaskRecord | undefined;
  end: AttemptEnd;
  /**
   * The task ignored its abort signal past the grace period and may still be running: its host
   * must not run anything else (a Lambda environment stops itself, a container exits).
   */
  abandoned: boolean;
}

/**
 * Run the task, record its outcome with one conditional write, and report what happened.
 * Never throws for the task's own errors; throws only when the store itself fails.
 */
export async function runAttempt(started: TaskRecord, options: AttemptOptions): Promise<AttemptReport> {
  const now = options.now ?? Date.now;
  const attempt = new AttemptContext(started, options, now);
  const end = await attempt.execute();
  await attempt.settled();
  const abandoned = attempt.abandoned;
  if (end.kind === 'superseded' || attempt.superseded)
    return { final: undefined, end: { kind: 'evicted', reason: 'superseded' }, abandoned };
  let latest = attempt.latest;
  const checkpoint = attempt.pendingCheckpoint();
  const progress = attempt.pendingProgress();
  const unstarted = attempt.unstarted;
  for (let round = 0; ; round++) {
    const decision = decideAfterAttempt(latest, end, now(), options.registry.retryRules(started.type));
    const set = { ...decision.set, ...(checkpoint !== undefined && decision.action !== 'succeed' ? { checkpoint } : {}) };
    if (progress && decision.action !== 'abort') Object.assign(set, { progress });
    try {
      const final = await options.store.transition(unstarted ? unstarted.queued : latest, {
        action: decision.action,
        reason: decision.reason,
        actor: options.actor,
        set,
        remove: decision.remove,
        // Decided on the control request as last seen: one made or withdrawn meanwhile decides again.
        ...(unstarted
          ? { unstarted: { attempt: latest.attempt, startedAt: latest.startedAt ?? now(), actor: options.actor } }
          : { expectControl: latest.control ?? null }),
      });
      return { final, end, abandoned };
    } catch (error) {
      const fresh = error instanceof StaleVersion ? error.current : undefined;
      if (!unstarted && round < 3 && fresh?.status === 'RUNNING' && fresh.version === latest.version) {
        latest = { ...latest, control: fresh.control };
        continue;
      }
      if (error instanceof StaleVersion || error instanceof TaskNotFound) return { final: undefined, end, abandoned };
      throw error;
    }
  }
}

type ExecutionEnd = AttemptEnd | { kind: 'superseded' };

/** The rejection of a task that ignored its signal for the whole grace period. */
const ABANDONED = Symbol('abandoned');

class AttemptContext {
  latest: TaskRecord;
  unstarted: AttemptOptions['unstarted'];
  abandoned = false;
  private readonly controller = new AbortController();
  private lastWrite: number;
  /** Until when the last successful write holds the lease. */
  private leaseUntil: number;
  private progressToWrite: TaskRecord['progress'];
  private checkpointToWrite: string | undefined;
  private checkpointDirty = false;
  private progressDirty = false;
  private starting: Promise<void> | undefined;
  private readonly guard: LeaseGuard | undefined;
  private leaseDeadline: NodeJS.Timeout | undefined;

  constructor(
    started: TaskRecord,
    private readonly options: AttemptOptions,
    private readonly now: () => number,
  ) {
    this.latest = started;
    this.unstarted = options.unstarted;
    this.lastWrite = now();
    this.leaseUntil = started.leaseUntil ?? this.lastWrite + options.lease.ms;
    this.guard = options.leaseGuard?.();
  }

  /**
   * The lease now runs until `leaseUntil`: the body is aborted a quarter of a lease before it
   * ends unless a renewal lands first, and the host is told to kill it an eighth before, should
   * it not have stopped. Another worker takes over only once the lease has ended, so two bodies
   * never run at once, whatever delays the renewals.
   */
  private leaseHeld(): void {
    if (this.unstarted) return; // nothing is leased before the start is written
    const quarter = this.options.lease.ms / 4;
    clearTimeout(this.leaseDeadline);
    this.leaseDeadline = setTimeout(
      () => {
        if (!this.controller.signal.aborted) this.controller.abort(new TaskInterrupted('lease-lost'));
      },
      Math.max(0, this.leaseUntil - quarter - this.now()),
    );
    this.guard?.hold(this.leaseUntil - quarter / 2);
  }

  /**
   * Write the start of a lazily started attempt (once: the lazy timer, a progress write and the
   * outcome all wait for the same write); if the task moved on meanwhile, stop it.
   */
  ensureStarted(): Promise<void> {
    const pending = this.unstarted;
    if (!pending) return this.starting ?? Promise.resolve();
    this.starting ??= (async () => {
      const now = this.now();
      const claim = await this.options.store.start(pending.message, this.options.actor, {
        now: this.latest.startedAt,
        set: { leaseUntil: now + this.options.lease.ms },
        indexLease: this.options.lease.indexed,
      });
      this.unstarted = undefined;
      if (claim.started) {
        this.latest = claim.started;
        this.leaseUntil = claim.started.leaseUntil ?? this.leaseUntil;
        this.lastWrite = now;
        this.leaseHeld();
        return;
      }
      this.controller.abort(new TaskInterrupted('superseded'));
      throw this.controller.signal.reason;
    })();
    return this.starting;
  }

  /** The lazy start (or a heartbeat) found the task moved on: this attempt must record nothing. */
  get superseded(): boolean {
    const reason = this.controller.signal.reason;
    return this.controller.signal.aborted && reason instanceof TaskInterrupted && reason.control === 'superseded';
  }

  /** Let a start write in flight land before the outcome is written (its result decides which write). */
  async settled(): Promise<void> {
    if (this.starting) await this.starting.catch(() => {});
  }

  pendingCheckpoint(): string | undefined {
    return this.checkpointDirty ? this.checkpointToWrite : undefined;
  }

  pendingProgress(): TaskRecord['progress'] {
    return this.progressDirty ? this.progressToWrite : undefined;
  }

  async execute(): Promise<ExecutionEnd> {
    const { registry, evict } = this.options;
    const task = this.latest;
    let definition: ReturnType<TaskRegistry['get']>;
    try {
      definition = registry.get(task.type);
    } catch {
      return {
        kind: 'errored',
        error: { code: 'unknown-type', message: `task type "${task.type}" is not registered here` },
        retryable: false,
      };
    }
    const resolved = await this.options.store.resolve(task);
    const parsed = definition.payload.safeParse(JSON.parse(resolved.payload ?? 'null'));
    if (!parsed.success) {
      return { kind: 'errored', error: { code: 'invalid-payload', message: parsed.error.message }, retryable: false };
    }
    const timers = this.startTimers(task.timeoutSeconds);
    this.leaseHeld();
    const onEvict = () => this.controller.abort(new TaskInterrupted('evicted'));
    evict?.addEventListener('abort', onEvict, { once: true });
    if (evict?.aborted) onEvict();
    const ctx: TaskContext = {
      id: task.id,
      attempt: task.attempt,
      signal: this.controller.signal,
      state: task.checkpoint === undefined ? undefined : JSON.parse(task.checkpoint),
      progress: (percent, message) => this.progress(percent, message),
      checkpoint: (state) => this.checkpoint(state),
    };
    // A task that ignores its signal is abandoned: the outcome is decided when the signal fires
    // (after the cancel grace period), not when the task's promise eventually settles.
    const abandoned = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener(
        'abort',
        () => setTimeout(() => reject(ABANDONED), this.options.cancelGraceMs ?? SETTINGS.cancelGraceMs.default).unref?.(),
        { once: true },
      );
    });
    abandoned.catch(() => {}); // only ever observed through the race below
    try {
      const value = await Promise.race([definition.run(parsed.data, ctx), abandoned]);
      const result = JSON.stringify(value ?? null);
      if (Buffer.byteLength(result) > MAX_RESULT_BYTES) {
        return {
          kind: 'errored',
          error: { code: 'result-too-large', message: `result exceeds ${MAX_RESULT_BYTES} bytes` },
          retryable: false,
        };
      }
      return { kind: 'succeeded', result };
    } catch (error) {
      if (error === ABANDONED) this.abandoned = true;
      return this.classify(error);
    } finally {
      for (const stop of timers) stop();
      clearTimeout(this.leaseDeadline);
      // An abandoned body may still run: its host must die by the deadline it holds.
      if (!this.abandoned) this.guard?.release();
      evict?.removeEventListener('abort', onEvict);
    }
  }

  /** The attempt's clocks: its timeout, the lazy start, lease heartbeats and control polling. */
  private startTimers(timeoutSeconds: number): (() => void)[] {
    const timeout = setTimeout(() => this.controller.abort(new TaskInterrupted('timeout')), timeoutSeconds * 1000);
    const stops = [() => clearTimeout(timeout)];
    if (this.unstarted) {
      const lazy = setTimeout(() => void this.ensureStarted().catch(() => {}), this.unstarted.lazyStartMs);
      stops.push(() => clearTimeout(lazy));
    }
    const heartbeat = setInterval(() => void this.heartbeat(), this.options.lease.ms / 3);
    stops.push(() => clearInterval(heartbeat));
    const pollMs = this.options.controlPollMs ?? 0;
    if (pollMs > 0) {
      const poll = setInterval(() => void this.pollControl(pollMs), pollMs);
      stops.push(() => clearInterval(poll));
    }
    return stops;
  }

  /** Why did the attempt stop? The abort reason wins over whatever the task threw because of it. */
  private classify(error: unknown): ExecutionEnd {
    const reason = this.controller.signal.aborted ? this.controller.signal.reason : error;
    if (reason instanceof TaskInterrupted) {
      switch (reason.control) {
        case 'superseded':
          return { kind: 'superseded' };
        case 'pause':
        case 'cancel':
          return { kind: 'interrupted', control: reason.control };
        case 'evicted':
        case 'lease-lost':
          return { kind: 'evicted', reason: reason.control };
        case 'timeout':
          return {
            kind: 'errored',
            error: { code: 'timeout', message: `exceeded its ${this.latest.timeoutSeconds} s timeout` },
            retryable: true,
          };
      }
    }
    const err = error instanceof Error ? error : new Error(String(error));
    return {
      kind: 'errored',
      error: { code: err instanceof NonRetryableError ? 'non-retryable' : 'task-error', message: err.message.slice(0, 1000) },
      retryable: !(err instanceof NonRetryableError),
    };
  }

  // Both record what the task reports before checking for a stop request, so the outcome write
  // (a pause, say) keeps the latest progress and checkpoint.
  private async progress(percent: number, message?: string): Promise<void> {
    const clamped = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
    this.progressToWrite = {
      percent: clamped,
      ...(message === undefined ? {} : { message: String(message).slice(0, 200) }),
      updatedAt: this.now(),
    };
    this.progressDirty = true;
    this.throwIfStopped();
    if (this.now() - this.lastWrite >= PROGRESS_INTERVAL_MS) await this.flush();
  }

  private async checkpoint(state: unknown): Promise<void> {
    this.checkpointToWrite = JSON.stringify(state ?? null);
    this.checkpointDirty = true;
    this.throwIfStopped();
    if (this.now() - this.lastWrite >= PROGRESS_INTERVAL_MS) await this.flush();
  }

  /** One write for pending progress and checkpoint, renewing the lease; its returned item carries any control request. */
  async flush(): Promise<void> {
    await this.ensureStarted();
    const now = this.now();
    const leaseUntil = now + this.options.lease.ms;
    try {
      this.latest = await this.options.store.touch(
        this.latest.id,
        this.latest.version,
        {
          progress: this.progressDirty ? this.progressToWrite : undefined,
          checkpoint: this.checkpointDirty ? this.checkpointToWrite : undefined,
          leaseUntil,
        },
        { indexLease: this.options.lease.indexed },
      );
    } catch (error) {
      // The fence moved: another writer (the sweeper, a takeover) owns the task now. Stop quietly.
      if (!(error instanceof StaleVersion)) throw error;
      this.controller.abort(new TaskInterrupted('superseded'));
      throw this.controller.signal.reason;
    }
    this.lastWrite = now;
    this.leaseUntil = leaseUntil;
    this.leaseHeld();
    this.progressDirty = false;
    this.checkpointDirty = false;
    this.throwIfStopped();
  }

  /**
   * Renew the lease when nothing else wrote for a third of it (with any pending progress). A
   * renewal that fails is tried again at the next beat; if none lands in time, the lease
   * deadline (leaseHeld) stops the task.
   */
  private async heartbeat(): Promise<void> {
    if (this.controller.signal.aborted || this.unstarted) return;
    if (this.now() - this.lastWrite < this.options.lease.ms / 3 - 50) return;
    await this.flush().catch(() => {});
  }

  /** Between writes, look for a pause or cancel request (skipped right after a write). */
  private async pollControl(pollMs: number): Promise<void> {
    if (this.controller.signal.aborted || this.now() - this.lastWrite < pollMs) return;
    try {
      const seen = await this.options.store.peek(this.latest.id);
      if (this.unstarted) {
        // Not started in the table yet: any new version means the task moved on (cancelled, paused…).
        if (seen && seen.version !== this.unstarted.queued.version) this.controller.abort(new TaskInterrupted('superseded'));
        return;
      }
      if (seen?.control && seen.version === this.latest.version && !this.controller.signal.aborted) {
        this.latest = { ...this.latest, control: seen.control };
        this.controller.abort(new TaskInterrupted(seen.control));
      }
    } catch {
      // a missed poll is retried at the next interval
    }
  }

  private throwIfStopped(): void {
    const control = this.latest.control;
    if (control && !this.controller.signal.aborted) this.controller.abort(new TaskInterrupted(control));
    if (this.controller.signal.aborted) throw this.controller.signal.reason;
  }
}
