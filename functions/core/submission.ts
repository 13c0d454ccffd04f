/**
 * Submitting tasks: the request schema, validation against the task registry, and the write.
 * Idempotency keys are claimed with a conditional put (no read-then-write, no transaction).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import type { BatchAdmission } from './admission.ts';
import { InvalidRequest, PayloadTooLarge, TaskNotFound } from './errors.ts';
import { encodeEvent } from './history.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { newTaskId } from './ids.ts';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_ATTEMPTS_LIMIT,
  MAX_BATCH_TASKS,
  MAX_CONTAINER_TASK_TIMEOUT_SECONDS,
  MAX_LAMBDA_TASK_TIMEOUT_SECONDS,
  MAX_PAYLOAD_BYTES,
  MAX_SCHEDULE_AHEAD_SECONDS,
} from './limits.ts';
import { DEFAULT_TENANT, type DeclaredLimits, PRIORITIES, RUNTIMES, type TaskRecord } from './model.ts';
import type { NewTask, TaskStore } from './store.ts';
import type { TaskRegistry } from './task-types.ts';
import { type LimitDefinition, needsAdmission, TenantKeySchema } from './tenancy.ts';

export const TaskSubmissionSchema = z.strictObject({
  type: z.string().check(z.minLength(1), z.maxLength(100)),
  payload: z.optional(z.unknown()),
  priority: z.optional(z.enum(PRIORITIES)),
  runtime: z.optional(z.enum(RUNTIMES)),
  delaySeconds: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(MAX_SCHEDULE_AHEAD_SECONDS))),
  runAt: z.optional(z.iso.datetime({ offset: true })),
  maxAttempts: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(MAX_ATTEMPTS_LIMIT))),
  timeoutSeconds: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(MAX_CONTAINER_TASK_TIMEOUT_SECONDS))),
  tenant: z.optional(TenantKeySchema),
  concurrencyKey: z.optional(TenantKeySchema),
});
export type TaskSubmission = z.infer<typeof TaskSubmissionSchema>;

/** What a schedule creates on each tick: a submission without its own timing. */
export const TaskTemplateSchema = z.strictObject({
  type: TaskSubmissionSchema.shape.type,
  payload: TaskSubmissionSchema.shape.payload,
  priority: TaskSubmissionSchema.shape.priority,
  runtime: TaskSubmissionSchema.shape.runtime,
  maxAttempts: TaskSubmissionSchema.shape.maxAttempts,
  timeoutSeconds: TaskSubmissionSchema.shape.timeoutSeconds,
  tenant: TaskSubmissionSchema.shape.tenant,
  concurrencyKey: TaskSubmissionSchema.shape.concurrencyKey,
});
export type TaskTemplate = z.infer<typeof TaskTemplateSchema>;

export interface DraftOptions {
  actor: string;
  now: number;
  /** Where the submission sits in the request body, for error messages (`tasks[3]`). */
  where?: string;
  /** A fixed id (a schedule tick's); a fresh one otherwise. */
  id?: string;
  /** The schedule tick it is created for. */
  schedule?: { name: string; tick: number };
  /** The limits API's limits (a type limited there sends its tasks through admission). */
  limits?: ReadonlyMap<string, LimitDefinition>;
}

export const BatchSubmissionSchema = z.strictObject({
  tasks: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_BATCH_TASKS)),
});

export interface SubmitOptions {
  actor: string;
  idempotencyKey?: string;
  now?: number;
}

export interface SubmitResult<T> {
  /** false when an Idempotency-Key replayed an earlier submission. */
  created: boolean;
  value: T;
}

/** Turn a zod failure into one readable 400. */
export function parseOrThrow<T>(schema: z.ZodMiniType<T>, input: unknown, where = ''): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues
    .map((issue) => {
      const path = [where, ...issue.path.map(String)].filter(Boolean).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  throw new InvalidRequest(detail);
}

export class TaskSubmitter {
  constructor(
    private readonly store: TaskStore,
    private readonly idempotency: IdempotencyStore,
    private readonly registry: TaskRegistry,
    /** Whether the deployment can run containers (it has the runner image and cluster). */
    private readonly containersEnabled = false,
    /** The limits API's limits, cached (none: no type is limited through the API). */
    private readonly limitCatalog?: { get(): Promise<Map<string, LimitDefinition>> },
    /** Admission of a batch's tasks before they are written (none: the dispatcher admits each). */
    private readonly batchAdmission?: Pick<BatchAdmission, 'prepare'>,
  ) {}

  /** The limits a draft needs to know of (cached: at most one read per cache period). */
  async limits(): Promise<ReadonlyMap<string, LimitDefinition> | undefined> {
    return this.limitCatalog?.get();
  }

  async submit(body: unknown, options: SubmitOptions): Promise<SubmitResult<TaskRecord>> {
    const now = options.now ?? Date.now();
    const draft = this.draft(body, { actor: options.actor, now, limits: await this.limits() });
    if (options.idempotencyKey) {
      const claim = await this.idempotency.claim(options.idempotencyKey, fingerprint(body), [draft.record.id], now);
      if (!claim.fresh) {
        const [id] = claim.taskIds;
        const existing = await this.store.find(id);
        if (existing) return { created: false, value: await this.store.resolve(existing) };
        // The key was claimed but the task write never happened (the first call died in between):
        // finish the job with the reserved id — unless a concurrent replay just did.
        draft.record = { ...draft.record, id };
        if ((await this.store.createMissing([draft])) === 0)
          return { created: false, value: await this.store.resolve(await this.store.get(id)) };
        return { created: true, value: await this.store.resolve(await this.store.get(id)) };
      }
    }
    return { created: true, value: await this.store.resolve(await this.store.create(draft)) };
  }

  async submitBatch(body: unknown, options: SubmitOptions): Promise<SubmitResult<TaskRecord[]>> {
    const now = options.now ?? Date.now();
    const { tasks } = parseOrThrow(BatchSubmissionSchema, body);
    const limits = await this.limits();
    const drafts = tasks.map((t, i) => this.draft(t, { actor: options.actor, now, where: `tasks[${i}]`, limits }));
    if (options.idempotencyKey) {
      const ids = drafts.map((d) => d.record.id);
      const claim = await this.idempotency.claim(options.idempotencyKey, fingerprint(body), ids, now);
      if (!claim.fresh) {
        const found = await Promise.all(claim.taskIds.map((id) => this.store.find(id)));
        if (found.every((t) => t !== undefined)) {
          return { created: false, value: await Promise.all(found.map((t) => this.store.resolve(t as TaskRecord))) };
        }
        // A partial first attempt: write the missing ones under their reserved ids.
        drafts.forEach((d, i) => {
          d.record = { ...d.record, id: claim.taskIds[i] };
        });
        // Conditional puts: a task that exists (perhaps already running) is never overwritten.
        await this.store.createMissing(drafts.filter((_, i) => found[i] === undefined));
        const all = await Promise.all(claim.taskIds.map((id) => this.store.find(id)));
        return {
          created: true,
          value: all.map((t, i) => {
            if (!t) throw new TaskNotFound(claim.taskIds[i]);
            return t;
          }),
        };
      }
    }
    if (!this.batchAdmission || !drafts.some((d) => d.record.limited)) {
      const records = await this.store.createMany(drafts);
      return { created: true, value: await Promise.all(records.map((r) => this.store.resolve(r))) };
    }
    // Born waiting or not, each task is written once; the tasks that ask for a fill go last.
    const { first, last } = await this.batchAdmission.prepare(
      drafts.map((d) => d.record),
      now,
    );
    const payloads = new Map(drafts.map((d) => [d.record.id, d.payloadJson]));
    const write = (records: TaskRecord[]) =>
      this.store.createMany(records.map((record) => ({ record, payloadJson: payloads.get(record.id) ?? 'null' })));
    const written = new Map([...(await write(first)), ...(await write(last))].map((r) => [r.id, r]));
    return { created: true, value: await Promise.all(drafts.map((d) => this.store.resolve(written.get(d.record.id) as TaskRecord))) };
  }

  /**
   * Validate one submission and build its first record; throws InvalidRequest/PayloadTooLarge.
   * Schedules validate their task template with it, and build each tick's task with it.
   */
  draft(input: unknown, options: DraftOptions): NewTask {
    const { actor, now, where = '' } = options;
    const submission = parseOrThrow(TaskSubmissionSchema, input, where);
    const at = (field: string) => (where ? `${where}.${field}` : field);
    const definition = this.registry.get(submission.type);
    parseOrThrow(definition.payload, submission.payload, at('payload'));
    const payloadJson = JSON.stringify(submission.payload ?? null);
    if (Buffer.byteLength(payloadJson) > MAX_PAYLOAD_BYTES) throw new PayloadTooLarge(MAX_PAYLOAD_BYTES);

    const runtime = submission.runtime ?? definition.runtime ?? 'lambda';
    if (runtime === 'container' && !this.containersEnabled) {
      throw new InvalidRequest(
        `${at('runtime')}: this deployment has no container image configured, so it cannot run "${submission.type}" in a container`,
        'container-runtime-unavailable',
      );
    }
    const timeoutSeconds = submission.timeoutSeconds ?? definition.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (runtime === 'lambda' && timeoutSeconds > MAX_LAMBDA_TASK_TIMEOUT_SECONDS) {
      throw new InvalidRequest(
        `${at('timeoutSeconds')}: ${timeoutSeconds} s does not fit in a Lambda worker (at most ${MAX_LAMBDA_TASK_TIMEOUT_SECONDS} s); use "runtime": "container" for long jobs`,
      );
    }
    if (submission.delaySeconds !== undefined && submission.runAt !== undefined) {
      throw new InvalidRequest(`${at('delaySeconds')}: give either delaySeconds or runAt, not both`);
    }
    let runAt: number | undefined;
    if (submission.runAt !== undefined) {
      runAt = Date.parse(submission.runAt);
      if (runAt > now + MAX_SCHEDULE_AHEAD_SECONDS * 1000) {
        throw new InvalidRequest(`${at('runAt')}: at most ${MAX_SCHEDULE_AHEAD_SECONDS / 86400} days ahead`);
      }
    } else if (submission.delaySeconds) {
      runAt = now + submission.delaySeconds * 1000;
    }
    const scheduled = runAt !== undefined && runAt > now;
    const tenant = submission.tenant === DEFAULT_TENANT ? undefined : submission.tenant;
    const typeLimits: DeclaredLimits | undefined =
      definition.concurrency || definition.rateLimit
        ? {
            ...(definition.concurrency ? { concurrency: { ...definition.concurrency } } : {}),
            ...(definition.rateLimit ? { rateLimit: { ...definition.rateLimit } } : {}),
          }
        : undefined;
    const tenancy = {
      ...(tenant !== undefined ? { tenant } : {}),
      ...(submission.concurrencyKey !== undefined ? { concurrencyKey: submission.concurrencyKey } : {}),
      ...(typeLimits ? { typeLimits } : {}),
    };
    const limited = needsAdmission({ ...tenancy, type: submission.type }, options.limits ?? new Map());
    const status = scheduled ? 'SCHEDULED' : 'QUEUED';
    const reason = options.schedule ? 'schedule-tick' : scheduled ? 'submit-scheduled' : 'submit';
    const record: TaskRecord = {
      id: options.id ?? newTaskId(now, this.store.writeShards),
      type: submission.type,
      status,
      priority: submission.priority ?? 'normal',
      runtime,
      attempt: 0,
      maxAttempts: submission.maxAttempts ?? definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      timeoutSeconds,
      version: 1,
      createdAt: now,
      updatedAt: now,
      ...(scheduled ? { runAt } : { queuedAt: now }),
      ...(definition.idempotent ? { idempotent: true } : {}),
      ...(options.schedule ? { scheduleName: options.schedule.name, scheduleTick: options.schedule.tick } : {}),
      ...tenancy,
      ...(limited ? { limited: true } : {}),
      history: [encodeEvent({ at: now, from: null, to: status, reason, attempt: 0, actor })],
    };
    return { record, payloadJson };
  }
}

/** A stable hash of the request body, to tell a replay from a reuse of the key for something else. */
function fingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
