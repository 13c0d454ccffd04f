/**
 * Bulk actions: one control request applied to every task a filter matches. A dry run counts the
 * matches; the real thing is a Sluice task of the built-in type `bulk`, so it has progress, can be
 * paused, resumed and cancelled like any task, and survives a crash: it walks the listing page by
 * page, checkpointing its cursor, and each task it changes has `bulk:<its id>` as the actor in its
 * history. A task the action does not apply to (cancelling a finished one) is counted as skipped.
 */
import * as z from 'zod/mini';
import { type ControlRequest, TaskControl } from './control.ts';
import { InvalidTransition, TaskNotFound } from './errors.ts';
import { PRIORITIES, STATUSES, type TaskRecord } from './model.ts';
import type { TaskStore } from './store.ts';
import type { ListFilter } from './task-listing.ts';
import { TenantKeySchema } from './tenancy.ts';

export const BULK_ACTIONS = ['cancel', 'retry', 'pause', 'resume', 'priority'] as const;
export const BULK_TASK_TYPE = 'bulk';

export const BulkFilterSchema = z.strictObject({
  status: z.optional(z.enum(STATUSES)),
  priority: z.optional(z.enum(PRIORITIES)),
  type: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  tenant: z.optional(TenantKeySchema),
  schedule: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
  createdAfter: z.optional(z.iso.datetime({ offset: true })),
  createdBefore: z.optional(z.iso.datetime({ offset: true })),
});
export type BulkFilter = z.infer<typeof BulkFilterSchema>;

export const BulkRequestSchema = z
  .strictObject({
    filter: BulkFilterSchema,
    action: z.enum(BULK_ACTIONS),
    priority: z.optional(z.enum(PRIORITIES)),
    dryRun: z.optional(z.boolean()),
  })
  .check(
    z.refine((r) => (r.action === 'priority') === (r.priority !== undefined), {
      message: '"priority" is required with the action "priority", and only with it',
    }),
  );
export type BulkRequest = z.infer<typeof BulkRequestSchema>;

/** The bulk task's payload: the request without `dryRun` (who made it is the bulk task's own submit actor). */
export const BulkPayloadSchema = z.strictObject({
  filter: BulkFilterSchema,
  action: z.enum(BULK_ACTIONS),
  priority: z.optional(z.enum(PRIORITIES)),
});
export type BulkPayload = z.infer<typeof BulkPayloadSchema>;

/** Where a bulk task is (its checkpoint). */
export interface BulkProgress {
  cursor: string | null;
  matched: number;
  applied: number;
  skipped: number;
  /** How many matched when it began (the dry run's count): the denominator of its progress. */
  total: number;
}

const PAGE = 100;

export const controlRequestOf = (request: Pick<BulkRequest, 'action' | 'priority'>): ControlRequest =>
  request.action === 'priority' ? { action: 'priority', priority: request.priority ?? 'normal' } : { action: request.action };

/** The listing filter (DynamoDB applies it) and the time window (applied to each page). */
function matcher(filter: BulkFilter): { list: Omit<ListFilter, 'limit' | 'cursor'>; matches: (t: TaskRecord) => boolean } {
  const after = filter.createdAfter ? Date.parse(filter.createdAfter) : -Infinity;
  const before = filter.createdBefore ? Date.parse(filter.createdBefore) : Infinity;
  const { createdAfter: _a, createdBefore: _b, ...list } = filter;
  // A bulk task never acts on bulk tasks (its own included).
  return { list, matches: (t) => t.type !== BULK_TASK_TYPE && t.createdAt > after && t.createdAt < before };
}

/** One page of the walk: the tasks it matched, and where the next page starts. */
export async function matchingPage(
  store: TaskStore,
  filter: BulkFilter,
  cursor: string | null,
): Promise<{ tasks: TaskRecord[]; cursor: string | null }> {
  const { list, matches } = matcher(filter);
  const page = await store.list({ ...list, limit: PAGE, ...(cursor ? { cursor } : {}) });
  return { tasks: page.items.filter(matches), cursor: page.cursor };
}

/** How many tasks the filter matches now (a dry run). */
export async function countMatching(store: TaskStore, filter: BulkFilter): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page = await matchingPage(store, filter, cursor);
    count += page.tasks.length;
    cursor = page.cursor;
  } while (cursor);
  return count;
}

/**
 * Apply the action to one page of matches, from `progress.cursor`; returns the progress after it
 * (its cursor null when the walk is done). The caller checkpoints it between pages.
 */
export async function applyPage(store: TaskStore, payload: BulkPayload, bulkId: string, progress: BulkProgress): Promise<BulkProgress> {
  const control = new TaskControl(store);
  const page = await matchingPage(store, payload.filter, progress.cursor);
  const request = controlRequestOf(payload);
  let { applied, skipped } = progress;
  for (const task of page.tasks) {
    try {
      await control.apply(task.id, request, `bulk:${bulkId}`);
      applied++;
    } catch (error) {
      if (!(error instanceof InvalidTransition || error instanceof TaskNotFound)) throw error;
      skipped++; // it does not apply to this task (it moved on, or it is finished)
    }
  }
  return { ...progress, cursor: page.cursor, matched: progress.matched + page.tasks.length, applied, skipped };
}
