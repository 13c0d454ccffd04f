/**
 * Task types: what users write. A type declares its payload schema (validated at intake), its
 * defaults, and `run`, which receives the parsed payload and a context for progress, checkpoints
 * and cancellation.
 */
import type * as z from 'zod/mini';
import { UnknownTaskType } from './errors.ts';
import type { Runtime } from './model.ts';

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
    for (const d of definitions) {
      if (this.types.has(d.type)) throw new Error(`task type "${d.type}" is defined twice`);
      this.types.set(d.type, d);
    }
  }

  get(type: string): TaskDefinition {
    const definition = this.types.get(type);
    if (!definition) throw new UnknownTaskType(type);
    return definition;
  }

  names(): string[] {
    return [...this.types.keys()];
  }
}
