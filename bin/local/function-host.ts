/**
 * Runs a handler module the way Lambda does: in execution environments (child processes) that
 * are reused while warm, one invocation at a time each, killed at the function's timeout, limited
 * in memory. A task that crashes its process (exit, out of memory, timeout) fails that invocation
 * only; the environment is replaced, as Lambda replaces a crashed one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { MeteredRequest } from '../bench/meter.ts';

const CHILD = fileURLToPath(new URL('./function-child.ts', import.meta.url));

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
  /** Handler module (absolute path) and its export. */
  module: string;
  exportName?: string;
  timeoutMs: number;
  memoryMb?: number;
  /** Extra environment (the rest is inherited). */
  env?: Record<string, string>;
  /** Most environments alive at once (the function's total concurrency). */
  maxEnvironments?: number;
  /** Modules every environment imports before the handler (extra task types). */
  preload?: readonly string[];
  /** Receives what each invocation's SDK clients recorded (benchmark metering). */
  onMeter?: (records: MeteredRequest[]) => void;
  /** Where each environment's stdout goes (the runtime's log collector). @default this process's stdout */
  stdout?: () => Writable;
}

interface Environment {
  child: ChildProcess;
  ready: Promise<void>;
}

let nextId = 0;

export class FunctionHost {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<ChildProcess>();
  /** The environments running an invocation right now, with the event each was given. */
  private readonly invoking = new Map<ChildProcess, unknown>();

  /** Process ids of the environments running an invocation right now. */
  busy(): number[] {
    return [...this.invoking.keys()].map((c) => c.pid ?? -1).filter((pid) => pid > 0);
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
    this.idle.push(...started);
  }

  private spawn(): Environment {
    const child = fork(CHILD, [this.options.module, this.options.exportName ?? 'handler'], {
      execArgv: [
        '--import',
        'tsx',
        ...(this.options.preload ?? []).flatMap((m) => ['--import', m]),
        `--max-old-space-size=${this.options.memoryMb ?? 256}`,
      ],
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', this.options.stdout ? 'pipe' : 'inherit', 'inherit', 'ipc'],
    });
    if (this.options.stdout) child.stdout?.pipe(this.options.stdout());
    this.all.add(child);
    // A send to an environment that just died fails the invocation (see invoke), not the host.
    child.on('error', () => {});
    child.once('exit', () => this.all.delete(child));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', (m: { type?: string }) => (m.type === 'ready' ? resolve() : reject(new Error('bad start'))));
      child.once('exit', (code) => reject(new InvocationError(`environment exited during init (code ${code})`, 'crash')));
    });
    ready.catch(() => {});
    return { child, ready };
  }

  async invoke<T>(event: unknown): Promise<T> {
    let env = this.idle.pop();
    while (env && (env.child.exitCode !== null || env.child.signalCode !== null)) env = this.idle.pop();
    env ??= this.spawn();
    // Keep one warm environment spare, as Lambda's warm pool does, so a burst on another lane
    // does not pay a process start (which is far slower locally than a Lambda cold start).
    if (this.idle.length === 0 && this.all.size < (this.options.maxEnvironments ?? 64)) {
      const spare = this.spawn();
      spare.ready.then(
        () => this.idle.push(spare),
        () => {},
      );
    }
    await env.ready;
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
      this.idle.push(env);
      return result;
    } catch (error) {
      if (error instanceof InvocationError && error.kind === 'error') this.idle.push(env);
      throw error;
    } finally {
      this.invoking.delete(child);
    }
  }

  async stop(): Promise<void> {
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
