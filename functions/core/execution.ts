/**
 * Running one attempt of a task that has been started (claimed by a conditional write): the same
 * code runs in the Lambda worker and in the container runner.
 */
import type { TaskMessage } from './dispatch.ts';
import { StaleVersion, TaskNotFound } from './errors.ts';
import { MAX_RESULT_BYTES } from './limits.ts';
import type { ControlRequest, TaskRecord } from './model.ts';
import { type AttemptEnd, decideAfterAttempt } from './retrying.ts';
import type { TaskStore } from './store.ts';
import { NonRetryableError, type TaskContext, type TaskRegistry } from './task-types.ts';

/** Progress writes are coalesced to at most one per this many milliseconds. */
export const PROGRESS_INTERVAL_MS = 1000;
/**
 * A task that runs longer than this without writing progress has its control requests polled
 * (an eventually consistent read each interval); shorter tasks cost nothing extra.
 */
export const CONTROL_POLL_MS = 2000;

/** Thrown inside a task by ctx.progress/ctx.checkpoint (and used as the abort reason) when asked to stop. */
export class TaskInterrupted extends Error {
  override name = 'TaskInterrupted';
  constructor(readonly control: ControlRequest | 'timeout' | 'evicted' | 'superseded') {
    super(`task interrupted: ${control}`);
  }
}

export interface AttemptOptions {
  store: TaskStore;
  registry: TaskRegistry;
  actor: string;
  /** Fires when the host must stop (SIGTERM): the task is handed back without using an attempt. */
  evict?: AbortSignal;
  /** Once a cancel is requested, how long to wait for the task to stop before recording CANCELLED anyway. */
  cancelGraceMs?: number;
  /** How often a running task's control requests are polled when it writes no progress. */
  controlPollMs?: number;
  /** Container attempts hold a lease, renewed by a heartbeat every third of it (the heartbeat also polls control). */
  lease?: { seconds: number };
  /**
   * The attempt runs without a start write yet (see processMessage): `queued` is the item as read.
   * The start is written if the task outlives `lazyStartMs` or reports progress; otherwise one
   * write records start and outcome together.
   */
  unstarted?: { queued: TaskRecord; message: TaskMessage; lazyStartMs: number };
  now?: () => number;
}

export interface AttemptReport {
  /** The record after the outcome write, or undefined when the write lost its fence (someone else moved the task). */
  final: TaskRecord | undefined;
  end: AttemptEnd;
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
  const definitionPolicy = (() => {
    try {
      const d = options.registry.get(started.type);
      return { ...d.retry, onTimeout: d.onTimeout, containerTimeoutSeconds: d.containerTimeoutSeconds };
    } catch {
      return undefined;
    }
  })();
  if (end.kind === 'superseded' || attempt.superseded) return { final: undefined, end: { kind: 'evicted', reason: 'superseded' } };
  const latest = attempt.latest;
  const decision = decideAfterAttempt(latest, end, now(), definitionPolicy);
  const checkpoint = attempt.pendingCheckpoint();
  const set = { ...decision.set, ...(checkpoint !== undefined && decision.action !== 'succeed' ? { checkpoint } : {}) };
  const progress = attempt.pendingProgress();
  if (progress && decision.action !== 'abort') Object.assign(set, { progress });
  try {
    const unstarted = attempt.unstarted;
    const final = await options.store.transition(unstarted ? unstarted.queued : latest, {
      action: decision.action,
      reason: decision.reason,
      actor: options.actor,
      set,
      remove: decision.remove,
      ...(unstarted ? { unstarted: { attempt: latest.attempt, startedAt: latest.startedAt ?? now(), actor: options.actor } } : {}),
    });
    return { final, end };
  } catch (error) {
    if (error instanceof StaleVersion || error instanceof TaskNotFound) return { final: undefined, end };
    throw error;
  }
}

type ExecutionEnd = AttemptEnd | { kind: 'superseded' };

class AttemptContext {
  latest: TaskRecord;
  unstarted: AttemptOptions['unstarted'];
  private readonly controller = new AbortController();
  private lastWrite = 0;
  private progressToWrite: TaskRecord['progress'];
  private checkpointToWrite: string | undefined;
  private checkpointDirty = false;
  private progressDirty = false;

  constructor(
    started: TaskRecord,
    private readonly options: AttemptOptions,
    private readonly now: () => number,
  ) {
    this.latest = started;
    this.unstarted = options.unstarted;
  }

  /** Write the start of a lazily started attempt; if the task moved on meanwhile, stop it. */
  private starting: Promise<void> | undefined;

  /**
   * Write the start of a lazily started attempt (once: the lazy timer, a progress write and the
   * outcome all wait for the same write); if the task moved on meanwhile, stop it.
   */
  ensureStarted(): Promise<void> {
    const pending = this.unstarted;
    if (!pending) return this.starting ?? Promise.resolve();
    this.starting ??= (async () => {
      const claim = await this.options.store.start(pending.message, this.options.actor, this.latest.startedAt);
      this.unstarted = undefined;
      if (claim.started) {
        this.latest = claim.started;
        return;
      }
      this.controller.abort(new TaskInterrupted('superseded'));
      throw this.controller.signal.reason;
    })();
    return this.starting;
  }

  /** The lazy start found the task moved on: this attempt must record nothing. */
  get superseded(): boolean {
    return (
      this.controller.signal.aborted &&
      this.controller.signal.reason instanceof TaskInterrupted &&
      this.controller.signal.reason.control === 'superseded'
    );
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
    const timer = setTimeout(() => this.controller.abort(new TaskInterrupted('timeout')), task.timeoutSeconds * 1000);
    const lazy = this.unstarted ? setTimeout(() => void this.ensureStarted().catch(() => {}), this.unstarted.lazyStartMs) : undefined;
    const poll = this.options.lease
      ? setInterval(() => void this.heartbeat(), (this.options.lease.seconds * 1000) / 3)
      : setInterval(() => void this.pollControl(), this.options.controlPollMs ?? CONTROL_POLL_MS);
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
        () => {
          const grace = this.options.cancelGraceMs ?? 5000;
          setTimeout(() => reject(this.controller.signal.reason), grace).unref?.();
        },
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
      return this.classify(error);
    } finally {
      clearTimeout(timer);
      clearTimeout(lazy);
      clearInterval(poll);
      evict?.removeEventListener('abort', onEvict);
    }
  }

  /** Why did the attempt stop? The abort reason wins over whatever the task threw because of it. */
  private classify(error: unknown): ExecutionEnd {
    const reason = this.controller.signal.aborted ? this.controller.signal.reason : error;
    if (reason instanceof TaskInterrupted) {
      if (reason.control === 'superseded') return { kind: 'superseded' };
      if (reason.control === 'pause' || reason.control === 'cancel') return { kind: 'interrupted', control: reason.control };
      if (reason.control === 'evicted') return { kind: 'evicted', reason: 'evicted' };
      return {
        kind: 'errored',
        error: { code: 'timeout', message: `exceeded its ${this.latest.timeoutSeconds} s timeout` },
        retryable: true,
      };
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

  /** One write for pending progress and checkpoint (and the lease); its returned item carries any control request. */
  async flush(): Promise<void> {
    if (!this.progressDirty && !this.checkpointDirty && !this.options.lease) return;
    await this.ensureStarted();
    this.lastWrite = this.now();
    try {
      this.latest = await this.options.store.touch(this.latest.id, this.latest.version, {
        progress: this.progressDirty ? this.progressToWrite : undefined,
        checkpoint: this.checkpointDirty ? this.checkpointToWrite : undefined,
        leaseUntil: this.options.lease ? this.now() + this.options.lease.seconds * 1000 : undefined,
      });
    } catch (error) {
      // The fence moved: another writer (the sweeper, a takeover) owns the task now. Stop quietly.
      if (!(error instanceof StaleVersion)) throw error;
      this.controller.abort(new TaskInterrupted('superseded'));
      throw this.controller.signal.reason;
    }
    this.progressDirty = false;
    this.checkpointDirty = false;
    this.throwIfStopped();
  }

  /** Renew the lease (with any pending progress); the returned item carries control requests. */
  private async heartbeat(): Promise<void> {
    if (this.controller.signal.aborted) return;
    try {
      await this.flush();
    } catch (error) {
      if (error instanceof TaskInterrupted) return; // the abort already carries it
      // A lost fence (the sweeper recovered the task) or a failed write: stop, record nothing more.
      if (error instanceof StaleVersion) this.controller.abort(new TaskInterrupted('evicted'));
    }
  }

  /** Between progress writes, look for a pause or cancel request (skipped right after a write). */
  private async pollControl(): Promise<void> {
    if (this.controller.signal.aborted || this.now() - this.lastWrite < (this.options.controlPollMs ?? CONTROL_POLL_MS)) return;
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

export interface MessageOptions extends AttemptOptions {
  /** The worker function's timeout, in milliseconds. */
  workerTimeoutMs: number;
  /** Run short tasks without a separate start write (0 or absent: always write the start first). */
  lazyStartMs?: number;
  /**
   * How many times SQS delivered this message. A redelivery means an earlier try died without a
   * trace, so it always starts with a write: a task that keeps crashing then uses up its attempts.
   */
  receiveCount?: number;
}

export type ClaimOutcome =
  | { kind: 'started'; task: TaskRecord }
  /** The message was stale (duplicate, or the task moved on): delete it. */
  | { kind: 'stale' }
  /**
   * The attempt this message started may still be running (a duplicate delivery): keep the
   * message, which comes back after the visibility timeout as that attempt's watchdog.
   */
  | { kind: 'held' }
  /** The worker that held this message died and no attempts are left: the task failed as poison. */
  | { kind: 'poisoned'; task: TaskRecord };

export type MessageOutcome = Exclude<ClaimOutcome, { kind: 'started' }> | { kind: 'ran'; task: TaskRecord; report: AttemptReport };

export interface ClaimOptions {
  /** The worker function's timeout: an attempt started longer ago than this has certainly stopped. */
  workerTimeoutMs: number;
  now?: number;
}

/**
 * Claim the task a message names: start it, or — when the message started the current attempt
 * and that attempt's worker is certainly gone (started longer ago than the worker's timeout:
 * crash, timeout, out of memory) — take over with a new attempt, or fail the task as poison when
 * no attempts are left.
 */
export async function claimMessage(message: TaskMessage, store: TaskStore, actor: string, options: ClaimOptions): Promise<ClaimOutcome> {
  const now = options.now ?? Date.now();
  const claim = await store.start(message, actor, now);
  if (claim.started) return { kind: 'started', task: claim.started };
  const current = claim.current;
  if (current?.status !== 'RUNNING' || current.claim !== message.v) return { kind: 'stale' };
  if (now < (current.startedAt ?? 0) + options.workerTimeoutMs) return { kind: 'held' };
  const lost = { code: 'worker-lost', message: `the worker running attempt ${current.attempt} stopped (crash, timeout or out of memory)` };
  try {
    if (current.attempt >= current.maxAttempts) {
      const task = await store.transition(current, {
        action: 'fail',
        reason: 'poison',
        actor,
        set: { error: { code: 'poison', message: `${lost.message}; no attempts left` }, finishedAt: now },
        remove: ['control'],
        now,
      });
      return { kind: 'poisoned', task };
    }
    const task = await store.transition(current, {
      action: 'restart',
      reason: 'worker-lost',
      actor,
      set: { attempt: current.attempt + 1, startedAt: now, error: lost },
      entries: [
        { from: 'RUNNING', to: 'QUEUED', reason: 'worker-lost' },
        { from: 'QUEUED', to: 'RUNNING', reason: 'start' },
      ],
      now,
    });
    return { kind: 'started', task };
  } catch (error) {
    if (error instanceof StaleVersion) return { kind: 'stale' }; // another delivery took over first
    throw error;
  }
}

/**
 * Handle one task message: claim the task, run the attempt, record its outcome.
 *
 * With `lazyStartMs`, a QUEUED task is run after a read instead of a start write: a task that
 * finishes within that time costs one write (start and outcome recorded together) instead of
 * two. A longer one writes its start then, and proceeds as usual. The price: while it has not
 * written its start, a duplicate delivery could run the task twice (one outcome wins the fence).
 */
export async function processMessage(message: TaskMessage, options: MessageOptions): Promise<MessageOutcome> {
  if (options.lazyStartMs && (options.receiveCount ?? 1) <= 1) {
    const seen = await options.store.findForMessage(message.id, message.v);
    if (seen?.status === 'QUEUED' && seen.version === message.v) {
      const running: TaskRecord = { ...seen, status: 'RUNNING', attempt: message.a, startedAt: Date.now() };
      const unstarted = { queued: seen, message, lazyStartMs: options.lazyStartMs };
      return { kind: 'ran', task: running, report: await runAttempt(running, { ...options, unstarted }) };
    }
    // Certainly stale, without spending a conditional write to find out.
    const maybeOurs = seen && (seen.version === message.v || (seen.status === 'RUNNING' && seen.claim === message.v));
    if (!maybeOurs) return { kind: 'stale' };
  }
  const claim = await claimMessage(message, options.store, options.actor, { workerTimeoutMs: options.workerTimeoutMs });
  if (claim.kind !== 'started') return claim;
  return { kind: 'ran', task: claim.task, report: await runAttempt(claim.task, options) };
}
