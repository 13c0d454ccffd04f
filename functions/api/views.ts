/**
 * Stored records shaped for the API, as the contract's TaskView and TaskEventView describe them.
 */
import type { TaskEvent, TaskRecord } from '#core/model.ts';
import type { TaskEventView, TaskView } from './contract.ts';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const parseJson = (text: string | undefined): unknown => (text === undefined ? null : JSON.parse(text));

/** Shape a stored record for the API; payload/result must already be resolved into the record. */
export function toView(task: TaskRecord): TaskView {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    priority: task.priority,
    runtime: task.runtime,
    payload: parseJson(task.payload),
    progress: task.progress
      ? {
          percent: task.progress.percent,
          message: task.progress.message ?? null,
          updatedAt: new Date(task.progress.updatedAt).toISOString(),
        }
      : null,
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    timeoutSeconds: task.timeoutSeconds,
    result: parseJson(task.result),
    error: task.error ?? null,
    control: task.control ?? null,
    createdAt: new Date(task.createdAt).toISOString(),
    queuedAt: iso(task.queuedAt),
    startedAt: iso(task.startedAt),
    finishedAt: iso(task.finishedAt),
    runAt: iso(task.runAt),
    updatedAt: new Date(task.updatedAt).toISOString(),
    version: task.version,
  };
}

export const toEventView = (event: TaskEvent): TaskEventView => ({ ...event, at: new Date(event.at).toISOString() });
