/**
 * Task types: what users write. A type declares its payload schema (validated at intake), its
 * defaults, and `run`, which receives the parsed payload and a context for progress, checkpoints
 * and cancellation.
 */
import type * as z from 'zod/mini';
import { UnknownTaskType } from './errors.ts';
import type { LimitKey, Runtime } from './model.ts';
import type { RetryRules } from './retrying.ts';

export interface TaskContext {
  readonly id: string;
  readonly attempt: number;
  /** Aborted when the task is cancelled, paused, or runs out of time. */
  readonly signal: AbortSignal;
  /** The state saved by the last checkpoint of an earlier attempt, if any. */
  readonly state: unknown;
  /** Report progress (coalesced to about one write per second). Throws TaskInterrupted when asked to pause or cancel. */
  progress(percent: number, message?: string): Promise<void>;
  /** Save state for a later attempt (always written). Throws TaskInterrupted when asked to pause or cancel. */
  checkpoint(state: unknown): Promise<void>;
}

export interface RetryPolicy {
  /** First backoff delay in seconds. @default 2 */
  readonly baseDelaySeconds?: number;
  /** Longest backoff delay in seconds. @default 3600 */
  readonly maxDelaySeconds?: number;
}

export interface TaskDefinition<Schema extends z.ZodMiniType = z.ZodMiniType> {
  readonly type: string;
  /** @default 'lambda' */
  readonly runtime?: Runtime;
  /** @default 60 */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly maxAttempts?: number;
  readonly retry?: RetryPolicy;
  /**
   * `container`: when a Lambda attempt times out, run the next attempt in a container.
   * @default undefined (a timeout is retried like any error)
   */
  readonly onTimeout?: 'container';
  /** Timeout of attempts moved to a container by `onTimeout`. @default 3600 */
  readonly containerTimeoutSeconds?: number;
  /**
   * The task may safely run more than once for one attempt. Sluice then runs a short task before
   * writing its start and records start and outcome in one write (cheaper), at a price: a
   * duplicate SQS delivery may run the body twice at the same time, and a pause, cancel or
   * priority change that lands while the body has not yet written its start makes the finished
   * body's outcome lose the version fence, so the task runs again later.
   * @default false (every attempt's start is an exclusive conditional write)
   */
  readonly idempotent?: boolean;
  /**
   * At most `limit` tasks of this type running at once per value of `key` (the task's tenant, its
   * concurrencyKey, or the type itself). Counted apart from the limits API: a request cannot raise it.
   */
  readonly concurrency?: { readonly limit: number; readonly key: LimitKey };
  /** At most `limit` starts per `periodSeconds` per value of `key`. */
  readonly rateLimit?: { readonly limit: number; readonly periodSeconds: number; readonly key: LimitKey };
  readonly payload: Schema;
  run(payload: z.output<Schema>, ctx: TaskContext): Promise<unknown>;
}

/** Identity function that gives `run` the payload type inferred from the schema. */
export function defineTask<Schema extends z.ZodMiniType>(definition: TaskDefinition<Schema>): TaskDefinition<Schema> {
  return definition;
}

/** Thrown by a task to fail at once, without further attempts. */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
}

export class TaskRegistry {
  private readonly types = new Map<string, TaskDefinition>();

  constructor(definitions: readonly TaskDefinition[]) {
    for (const d of definitions) this.register(d);
  }

  /** Add a type (the registry module lists the deployment's own; a host may add more before serving). */
  register(definition: TaskDefinition): void {
    if (this.types.has(definition.type)) throw new Error(`task type "${definition.type}" is defined twice`);
    for (const [name, declared] of [
      ['concurrency', definition.concurrency],
      ['rateLimit', definition.rateLimit],
    ] as const) {
      if (declared && (!Number.isInteger(declared.limit) || declared.limit < 1)) {
        throw new Error(`task type "${definition.type}": ${name}.limit must be a whole number of at least 1`);
      }
    }
    if (definition.rateLimit && (!Number.isInteger(definition.rateLimit.periodSeconds) || definition.rateLimit.periodSeconds < 1)) {
      throw new Error(`task type "${definition.type}": rateLimit.periodSeconds must be a whole number of at least 1`);
    }
    this.types.set(definition.type, definition);
  }

  get(type: string): TaskDefinition {
    const definition = this.types.get(type);
    if (!definition) throw new UnknownTaskType(type);
    return definition;
  }

  names(): string[] {
    return [...this.types.keys()];
  }

  /** What the type says about retrying (undefined for a type this deployment does not know). */
  retryRules(type: string): RetryRules | undefined {
    const d = this.types.get(type);
    return d && { ...d.retry, onTimeout: d.onTimeout, containerTimeoutSeconds: d.containerTimeoutSeconds };
  }

  isIdempotent(type: string): boolean {
    return this.types.get(type)?.idempotent === true;
  }
}

/** Wait `ms`, or reject with the signal's reason as soon as it aborts: a sleep a task can be stopped in. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
