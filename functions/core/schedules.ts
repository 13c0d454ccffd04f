/**
 * Recurring schedules: what the API takes, what is stored, and the pure rules around them (state,
 * next runs, patching). A schedule is one item; its bookkeeping (last run, counts) and its runs
 * live in a partition of their own, so a tick never rewrites the schedule item — only definition
 * changes reach the stream that keeps EventBridge Scheduler in line.
 */
import * as z from 'zod/mini';
import { InvalidRequest } from './errors.ts';
import { nextRuns, parseRecurrence, type Recurrence } from './recurrence.ts';
import { type TaskTemplate, TaskTemplateSchema } from './submission.ts';

export const OVERLAP_POLICIES = ['skip', 'queue', 'cancel-previous'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const SCHEDULE_STATES = ['ACTIVE', 'PAUSED', 'ENDED'] as const;
export type ScheduleState = (typeof SCHEDULE_STATES)[number];

export const SCHEDULE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** How many upcoming fire times a schedule shows. */
export const NEXT_RUNS_SHOWN = 5;

const isoTime = z.iso.datetime({ offset: true });
const definitionFields = {
  cron: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  every: z.optional(z.string().check(z.maxLength(20))),
  timezone: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  task: TaskTemplateSchema,
  overlap: z.optional(z.enum(OVERLAP_POLICIES)),
  startAt: z.optional(isoTime),
  endAt: z.optional(isoTime),
};

export const ScheduleCreateSchema = z.strictObject({
  name: z.string().check(z.regex(SCHEDULE_NAME_PATTERN, 'a name is 1–63 characters of a-z, 0-9 and -, starting with a letter or digit')),
  ...definitionFields,
});
export type ScheduleCreate = z.infer<typeof ScheduleCreateSchema>;

/** Any field but the name; `null` clears startAt/endAt; giving cron drops every and the reverse. */
export const SchedulePatchSchema = z.strictObject({
  cron: definitionFields.cron,
  every: definitionFields.every,
  timezone: definitionFields.timezone,
  task: z.optional(TaskTemplateSchema),
  overlap: definitionFields.overlap,
  startAt: z.optional(z.nullable(isoTime)),
  endAt: z.optional(z.nullable(isoTime)),
});
export type SchedulePatch = z.infer<typeof SchedulePatchSchema>;

export const ScheduleListQuerySchema = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20),
  cursor: z.optional(z.string().check(z.regex(SCHEDULE_NAME_PATTERN, 'not a cursor this API returned'))),
});

/** A run cursor as the store returns it: the run's tick, and `#m` for a triggered one. */
const RUN_CURSOR_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z(#m)?$/;

export const RunListQuerySchema = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 20),
  cursor: z.optional(z.string().check(z.regex(RUN_CURSOR_PATTERN, 'not a cursor this API returned'))),
});

/** A schedule as stored (times are epoch ms). */
export interface ScheduleRecord {
  name: string;
  cron?: string;
  every?: string;
  timezone: string;
  /** The task template, validated as POST /tasks validates a task. */
  task: TaskTemplate;
  overlap: OverlapPolicy;
  startAt?: number;
  endAt?: number;
  paused: boolean;
  pausedAt?: number;
  pausedBy?: string;
  /** `every` runs at anchor + k × interval (startAt, else creation). */
  anchor: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  version: number;
}

/** A schedule's bookkeeping, updated by each tick (not the schedule item: see the module comment). */
export interface ScheduleBook {
  lastTick?: number;
  lastTaskId?: string;
  lastRunAt?: number;
  created: number;
  skipped: number;
}

/** One tick, as the schedule handled it. */
export interface ScheduleRun {
  tick: number;
  at: number;
  kind: 'created' | 'skipped';
  /** A `trigger` request, not a tick of the recurrence. */
  manual: boolean;
  taskId?: string;
  reason?: string;
}

export function recurrenceOf(schedule: Pick<ScheduleRecord, 'cron' | 'every' | 'timezone'>, minEverySeconds: number): Recurrence {
  return parseRecurrence(schedule, minEverySeconds);
}

export function scheduleState(schedule: ScheduleRecord, now: number): ScheduleState {
  if (schedule.endAt !== undefined && schedule.endAt <= now) return 'ENDED';
  return schedule.paused ? 'PAUSED' : 'ACTIVE';
}

/** The next fire times after `now` (none while paused or ended). */
export function upcomingRuns(schedule: ScheduleRecord, now: number, count = NEXT_RUNS_SHOWN): number[] {
  if (scheduleState(schedule, now) !== 'ACTIVE') return [];
  const after = Math.max(now, (schedule.startAt ?? now) - 1);
  // A stored schedule was validated when written: read it back without the deployment's floor.
  return nextRuns(recurrenceOf(schedule, 1), { after, count, anchor: schedule.anchor, until: schedule.endAt });
}

/** Scheduler's times have whole seconds: an interval counted from one stays on them. */
const wholeSecond = (ms: number): number => Math.ceil(ms / 1000) * 1000;

function checkWindow(startAt: number | undefined, endAt: number | undefined): void {
  if (startAt !== undefined && endAt !== undefined && endAt <= startAt) throw new InvalidRequest('endAt: must be after startAt');
}

/** A new schedule record from a validated request (the task template is validated by the caller). */
export function newSchedule(input: ScheduleCreate, options: { actor: string; now: number; minEverySeconds: number }): ScheduleRecord {
  recurrenceOf({ cron: input.cron, every: input.every, timezone: input.timezone ?? 'UTC' }, options.minEverySeconds);
  const startAt = input.startAt === undefined ? undefined : Date.parse(input.startAt);
  const endAt = input.endAt === undefined ? undefined : Date.parse(input.endAt);
  checkWindow(startAt, endAt);
  return {
    name: input.name,
    ...(input.cron !== undefined ? { cron: input.cron.trim().replace(/\s+/g, ' ') } : { every: input.every }),
    timezone: input.timezone ?? 'UTC',
    task: input.task,
    overlap: input.overlap ?? 'skip',
    ...(startAt !== undefined ? { startAt } : {}),
    ...(endAt !== undefined ? { endAt } : {}),
    paused: false,
    anchor: startAt ?? wholeSecond(options.now),
    createdAt: options.now,
    createdBy: options.actor,
    updatedAt: options.now,
    version: 1,
  };
}

/** The schedule after a patch (validated; the caller validates a new task template). */
export function patchSchedule(
  current: ScheduleRecord,
  patch: SchedulePatch,
  options: { now: number; minEverySeconds: number },
): ScheduleRecord {
  if (patch.cron !== undefined && patch.every !== undefined) throw new InvalidRequest('give exactly one of cron or every');
  const next: ScheduleRecord = { ...current, updatedAt: options.now, version: current.version + 1 };
  if (patch.cron !== undefined) {
    next.cron = patch.cron.trim().replace(/\s+/g, ' ');
    delete next.every;
  }
  if (patch.every !== undefined) {
    next.every = patch.every;
    delete next.cron;
  }
  if (patch.timezone !== undefined) next.timezone = patch.timezone;
  if (patch.task !== undefined) next.task = patch.task;
  if (patch.overlap !== undefined) next.overlap = patch.overlap;
  for (const field of ['startAt', 'endAt'] as const) {
    const value = patch[field];
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = Date.parse(value);
  }
  if (patch.startAt !== undefined || patch.every !== undefined) next.anchor = next.startAt ?? wholeSecond(options.now);
  recurrenceOf(next, options.minEverySeconds);
  checkWindow(next.startAt, next.endAt);
  return next;
}
