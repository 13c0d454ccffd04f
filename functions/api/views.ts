/**
 * Stored records shaped for the API, as the contract's TaskView and TaskEventView describe them.
 */
import type { LimitDetail } from '#core/limit-control.ts';
import { DEFAULT_TENANT, type TaskEvent, type TaskRecord } from '#core/model.ts';
import { isoInZone, schedulerExpression } from '#core/recurrence.ts';
import type { RunDetail, ScheduleDetail } from '#core/schedule-control.ts';
import type { TickOutcome } from '#core/schedule-firing.ts';
import { recurrenceOf, scheduleState, upcomingRuns } from '#core/schedules.ts';
import type { LimitView, ScheduleRunView, ScheduleView, TaskEventView, TaskView, TriggerResult } from './contract.ts';

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
    schedule:
      task.scheduleName !== undefined && task.scheduleTick !== undefined
        ? { name: task.scheduleName, tick: new Date(task.scheduleTick).toISOString() }
        : null,
    tenant: task.tenant ?? DEFAULT_TENANT,
    concurrencyKey: task.concurrencyKey ?? null,
    waitingFor: task.waitingFor ? { scope: task.waitingFor.scope, key: task.waitingFor.key } : null,
  };
}

export const toLimitView = ({ definition, source, usage }: LimitDetail): LimitView => ({
  scope: definition.scope,
  key: definition.key,
  concurrency: definition.concurrency ?? null,
  rate: definition.rate ?? null,
  source,
  usage,
  updatedAt: iso(definition.updatedAt),
  updatedBy: definition.updatedBy ?? null,
});

export function toScheduleView({ schedule, book, lastTask }: ScheduleDetail, now = Date.now()): ScheduleView {
  return {
    name: schedule.name,
    cron: schedule.cron ?? null,
    every: schedule.every ?? null,
    timezone: schedule.timezone,
    expression: schedulerExpression(recurrenceOf(schedule, 1)),
    task: schedule.task,
    overlap: schedule.overlap,
    startAt: iso(schedule.startAt),
    endAt: iso(schedule.endAt),
    state: scheduleState(schedule, now),
    paused:
      schedule.paused && schedule.pausedAt !== undefined
        ? { at: new Date(schedule.pausedAt).toISOString(), by: schedule.pausedBy ?? '' }
        : null,
    nextRuns: upcomingRuns(schedule, now).map((t) => isoInZone(t, schedule.timezone)),
    lastRun:
      book.lastTaskId !== undefined && book.lastTick !== undefined
        ? {
            at: new Date(book.lastRunAt ?? book.lastTick).toISOString(),
            tick: new Date(book.lastTick).toISOString(),
            taskId: book.lastTaskId,
            status: lastTask?.status ?? null,
          }
        : null,
    counts: { created: book.created, skipped: book.skipped },
    createdAt: new Date(schedule.createdAt).toISOString(),
    createdBy: schedule.createdBy,
    updatedAt: new Date(schedule.updatedAt).toISOString(),
    version: schedule.version,
  };
}

export const toRunView = ({ run, task }: RunDetail): ScheduleRunView => ({
  tick: new Date(run.tick).toISOString(),
  at: new Date(run.at).toISOString(),
  kind: run.kind,
  manual: run.manual,
  taskId: run.taskId ?? null,
  status: task?.status ?? null,
  reason: run.reason ?? null,
});

/** A trigger's answer (a duplicate cannot happen for a fresh trigger time; it reads as skipped). */
export function toTriggerResult(outcome: TickOutcome, view: (task: TaskRecord) => TaskView): TriggerResult {
  if (outcome.kind === 'created') return { outcome: 'created', task: view(outcome.task), reason: null };
  return { outcome: 'skipped', task: null, reason: outcome.kind === 'skipped' ? outcome.reason : 'already handled' };
}

export const toEventView = (event: TaskEvent): TaskEventView => ({ ...event, at: new Date(event.at).toISOString() });
