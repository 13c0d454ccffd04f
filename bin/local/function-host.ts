/**
 * Runs a handler bundle the way Lambda does: in execution environments (child processes) that
 * are reused while warm, one invocation at a time each, killed at the function's timeout, limited
 * in memory. A task that crashes its process (exit, out of memory, timeout) fails that invocation
 * only; the environment is replaced, as Lambda replaces a crashed one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { MeteredRequest } from '../bench/meter.ts';

export class InvocationError extends Error {
  override name = 'InvocationError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'crash' | 'error',
  ) {
    super(message);
  }
}

export interface FunctionHostOptions {
  /** The environment's code: a file from processBundle (the handler, its preloads and the IPC loop). */
  bundle: string;
  timeoutMs: number;
  memoryMb?: number;
  /** Extra environment (the rest is inherited). */
  env?: Record<string, string>;
  /** Most environments alive at once (the function's total concurrency). */
  maxEnvironments?: number;
  /** Receives what each invocation's SDK clients recorded (benchmark metering). */
  onMeter?: (records: MeteredRequest[]) => void;
  /** Where each environment's stdout goes (the runtime's log collector). @default this process's stdout */
  stdout?: () => Writable;
}

interface Environment {
  child: ChildProcess;
  ready: Promise<void>;
}

interface Waiter {
  resolve: (env: Environment) => void;
  reject: (error: Error) => void;
}

let nextId = 0;

const alive = (env: Environment) => env.child.exitCode === null && env.child.signalCode === null;

export class FunctionHost {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<ChildProcess>();
  /** Invocations waiting for an environment, first come first served. */
  private readonly waiting: Waiter[] = [];
  /** Environments spawned and not yet ready. */
  private starting = 0;
  private stopped = false;
  /** The environments running an invocation right now, with the event each was given. */
  private readonly invoking = new Map<ChildProcess, unknown>();

  /** Process ids of the environments running an invocation right now. */
  busy(): number[] {
    return [...this.invoking.keys()].map((c) => c.pid ?? -1).filter((pid) => pid > 0);
  }

  /** Environments started and idle, ready for an invocation. */
  get warm(): number {
    return this.idle.filter(alive).length;
  }

  /** The event the environment with this process id is running (undefined: none). */
  eventOf(pid: number): unknown {
    for (const [child, event] of this.invoking) if (child.pid === pid) return event;
    return undefined;
  }

  constructor(private readonly options: FunctionHostOptions) {}

  /** Start `count` environments ahead of need (Lambda's provisioned concurrency). */
  async prewarm(count: number): Promise<void> {
    const started = Array.from({ length: count }, () => this.spawn());
    await Promise.all(started.map((e) => e.ready));
    for (const env of started) this.give(env);
  }

  private spawn(): Environment {
    const child = fork(this.options.bundle, [], {
      // Not this process's flags (its tsx loader): the bundle is plain JavaScript.
      execArgv: [`--max-old-space-size=${this.options.memoryMb ?? 256}`],
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', this.options.stdout ? 'pipe' : 'inherit', 'inherit', 'ipc'],
    });
    if (this.options.stdout) child.stdout?.pipe(this.options.stdout());
    this.all.add(child);
    // A send to an environment that just died fails the invocation (see invoke), not the host.
    child.on('error', () => {});
    let served = false;
    child.once('exit', () => {
      this.all.delete(child);
      // A crashed or timed-out environment is replaced at once, so the invocation that retries
      // its batch finds a warm one (one that never started is not: a broken module would loop).
      if (served) this.topUp();
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', (m: { type?: string }) => (m.type === 'ready' ? resolve() : reject(new Error('bad start'))));
      child.once('exit', (code) => reject(new InvocationError(`environment exited during init (code ${code})`, 'crash')));
    });
    ready.then(
      () => {
        served = true;
      },
      () => {},
    );
    return { child, ready };
  }

  /**
   * An environment for one invocation: an idle warm one, or else whichever becomes free first —
   * one starting, or one another invocation gives back. A process start here takes seconds under
   * load (far longer than a Lambda cold start), often longer than a running invocation's end.
   */
  private acquire(): Promise<Environment> {
    for (let env = this.idle.pop(); env; env = this.idle.pop()) {
      if (!alive(env)) continue;
      this.topUp();
      return Promise.resolve(env);
    }
    const acquired = new Promise<Environment>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.topUp();
    return acquired;
  }

  /** An environment free for the next invocation: the first waiter's, or idle. */
  private give(env: Environment): void {
    if (!alive(env)) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(env);
    else this.idle.push(env);
  }

  /**
   * Starts environments until every waiter and one spare are covered (Lambda's warm pool: a burst
   * on another lane does not pay a process start, which is far slower locally than a cold start),
   * within the function's concurrency.
   */
  private topUp(): void {
    while (
      !this.stopped &&
      this.idle.length + this.starting < this.waiting.length + 1 &&
      this.all.size < (this.options.maxEnvironments ?? 64)
    ) {
      const env = this.spawn();
      this.starting++;
      env.ready.then(
        () => {
          this.starting--;
          this.give(env);
        },
        (error: Error) => {
          this.starting--;
          // The invocation it was started for fails, as a failed init fails it on Lambda.
          this.waiting.shift()?.reject(error);
          if (this.waiting.length > 0) this.topUp();
        },
      );
    }
  }

  async invoke<T>(event: unknown): Promise<T> {
    const env = await this.acquire();
    const { child } = env;
    this.invoking.set(child, event);
    const id = ++nextId;
    const deadline = Date.now() + this.options.timeoutMs;
    try {
      const result = await new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new InvocationError(`Task timed out after ${this.options.timeoutMs / 1000} seconds`, 'timeout'));
        }, this.options.timeoutMs);
        const onMessage = (m: { id: number; ok: boolean; result?: T; error?: string; meter?: MeteredRequest[] }) => {
          if (m.id !== id) return;
          cleanup();
          if (m.meter?.length) this.options.onMeter?.(m.meter);
          if (m.ok) resolve(m.result as T);
          else reject(new InvocationError(m.error ?? 'handler error', 'error'));
        };
        const onExit = (code: number | null, signal: string | null) => {
          cleanup();
          reject(new InvocationError(`Runtime exited (code ${code}, signal ${signal}) during the invocation`, 'crash'));
        };
        const cleanup = () => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({ id, event, deadline }, (error) => {
          if (!error) return;
          cleanup();
          reject(new InvocationError(`the environment is gone: ${error.message}`, 'crash'));
        });
      });
      this.give(env);
      return result;
    } catch (error) {
      if (error instanceof InvocationError && error.kind === 'error') this.give(env);
      throw error;
    } finally {
      this.invoking.delete(child);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new InvocationError('the function host stopped', 'crash'));
    const exits = [...this.all].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    );
    await Promise.all(exits);
  }
}

/**
 * An in-process function stopped at its timeout, as Lambda stops it: the invocation fails and its
 * source retries the batch (a request that never answers would otherwise hold a stream shard for
 * good). Its work cannot be killed in-process; it is left to settle on its own.
 */
export function timeLimited<E, R>(name: string, seconds: number, fn: (event: E) => Promise<R>): (event: E) => Promise<R> {
  return (event) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InvocationError(`${name}: Task timed out after ${seconds} seconds`, 'timeout')), seconds * 1000);
    });
    return Promise.race([fn(event), expired]).finally(() => clearTimeout(timer));
  };
}
