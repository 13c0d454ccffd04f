/**
 * The built-in `bulk` task (POST /tasks/bulk creates it): applies one control request to every
 * task a filter matches, a page at a time, checkpointing where it is — so it reports progress,
 * can be paused, resumed and cancelled, and a crashed attempt continues from its last page.
 */
import { applyPage, BULK_TASK_TYPE, BulkPayloadSchema, type BulkProgress, countMatching } from '#core/bulk.ts';
import { dynamo } from '#core/clients.ts';
import { tableName } from '#core/config.ts';
import { readSettings } from '#core/settings.ts';
import { TaskStore } from '#core/store.ts';
import { defineTask } from '#core/task-types.ts';

const isProgress = (state: unknown): state is BulkProgress =>
  typeof state === 'object' && state !== null && 'total' in state && 'applied' in state;

export default defineTask({
  type: BULK_TASK_TYPE,
  payload: BulkPayloadSchema,
  // A walk of a large filter takes long; a Lambda attempt that runs out goes on from its checkpoint.
  timeoutSeconds: 600,
  maxAttempts: 10,
  async run(payload, ctx) {
    // It walks the listing, so it must query every shard the deployment writes.
    const { writeShards } = readSettings(['writeShards']);
    const store = new TaskStore(dynamo(), tableName(), undefined, writeShards);
    const resumed = isProgress(ctx.state) ? ctx.state : undefined;
    let progress: BulkProgress = resumed ?? {
      cursor: null,
      matched: 0,
      applied: 0,
      skipped: 0,
      total: await countMatching(store, payload.filter),
    };
    // The first checkpoint is written after the first page, so one without a cursor is a finished
    // walk: an attempt stopped between it and its outcome (a pause landing there) returns it. It
    // used to walk again from the start, counting every task twice.
    if (resumed?.cursor === null)
      return { action: payload.action, matched: progress.matched, applied: progress.applied, skipped: progress.skipped };
    do {
      progress = await applyPage(store, payload, ctx.id, progress);
      await ctx.checkpoint(progress);
      const percent = progress.total ? Math.min(99, Math.floor((progress.matched / progress.total) * 100)) : 99;
      await ctx.progress(progress.cursor ? percent : 100, `${progress.applied} ${payload.action} applied, ${progress.skipped} skipped`);
    } while (progress.cursor);
    return { action: payload.action, matched: progress.matched, applied: progress.applied, skipped: progress.skipped };
  },
});
