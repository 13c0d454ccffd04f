/**
 * What users do with schedules: create, read, change, pause, resume, trigger, delete. Each change
 * is one write of the schedule item fenced by its version (read again and redone when someone else
 * wrote first); the table's stream brings EventBridge Scheduler in line — nothing here calls it.
 */
import { ScheduleNotFound } from './errors.ts';
import type { TaskRecord } from './model.ts';
import type { ScheduleFiring, TickOutcome } from './schedule-firing.ts';
import { type ScheduleStore, ScheduleVersionConflict } from './schedule-store.ts';
import {
  newSchedule,
  patchSchedule,
  type ScheduleBook,
  ScheduleCreateSchema,
  SchedulePatchSchema,
  type ScheduleRecord,
  type ScheduleRun,
} from './schedules.ts';
import type { TaskStore } from './store.ts';
import { parseOrThrow, type TaskSubmitter } from './submission.ts';

/** A schedule with what its views show besides the definition. */
export interface ScheduleDetail {
  schedule: ScheduleRecord;
  book: ScheduleBook;
  /** The last task it created, if it still exists. */
  lastTask?: TaskRecord;
}

export interface RunDetail {
  run: ScheduleRun;
  task?: TaskRecord;
}

const WRITE_ATTEMPTS = 5;

export class ScheduleControl {
  constructor(
    private readonly schedules: ScheduleStore,
    private readonly tasks: TaskStore,
    private readonly submitter: Pick<TaskSubmitter, 'draft'>,
    private readonly firing: ScheduleFiring,
    /** The shortest `every` this deployment accepts (60 s on AWS). */
    private readonly minEverySeconds: number,
  ) {}

  /** Validate the task template exactly as POST /tasks validates a task (same 400s). */
  private checkTemplate(template: unknown, actor: string, now: number): void {
    this.submitter.draft(template, { actor, now, where: 'task' });
  }

  async create(body: unknown, actor: string, now = Date.now()): Promise<ScheduleDetail> {
    const input = parseOrThrow(ScheduleCreateSchema, body);
    const record = newSchedule(input, { actor, now, minEverySeconds: this.minEverySeconds });
    this.checkTemplate(input.task, actor, now);
    await this.schedules.create(record);
    return { schedule: record, book: { created: 0, skipped: 0 } };
  }

  async get(name: string): Promise<ScheduleDetail> {
    const [schedule, books] = await Promise.all([this.schedules.get(name), this.schedules.books([name])]);
    return this.detail(schedule, books.get(name));
  }

  async list(limit: number, cursor?: string): Promise<{ items: ScheduleDetail[]; cursor: string | null }> {
    const page = await this.schedules.list(limit, cursor);
    const books = await this.schedules.books(page.items.map((s) => s.name));
    return { items: await Promise.all(page.items.map((s) => this.detail(s, books.get(s.name)))), cursor: page.cursor };
  }

  private async detail(schedule: ScheduleRecord, book: ScheduleBook = { created: 0, skipped: 0 }): Promise<ScheduleDetail> {
    const lastTask = book.lastTaskId ? await this.tasks.peek(book.lastTaskId) : undefined;
    return { schedule, book, ...(lastTask ? { lastTask } : {}) };
  }

  async patch(name: string, body: unknown, actor: string): Promise<ScheduleDetail> {
    const patch = parseOrThrow(SchedulePatchSchema, body);
    return this.change(name, (current, now) => {
      const next = patchSchedule(current, patch, { now, minEverySeconds: this.minEverySeconds });
      if (patch.task !== undefined) this.checkTemplate(patch.task, actor, now);
      return next;
    });
  }

  pause(name: string, actor: string): Promise<ScheduleDetail> {
    return this.change(name, (current, now) =>
      current.paused
        ? undefined
        : { ...current, paused: true, pausedAt: now, pausedBy: actor, updatedAt: now, version: current.version + 1 },
    );
  }

  resume(name: string, _actor: string): Promise<ScheduleDetail> {
    return this.change(name, (current, now) => {
      if (!current.paused) return undefined;
      const { pausedAt: _at, pausedBy: _by, ...rest } = current;
      return { ...rest, paused: false, updatedAt: now, version: current.version + 1 };
    });
  }

  /** One run now, outside the recurrence, under the same overlap rule. */
  async trigger(name: string, now = Date.now()): Promise<TickOutcome> {
    const outcome = await this.firing.fire(name, now, { manual: true, now });
    if (outcome.kind === 'no-schedule') throw new ScheduleNotFound(name);
    return outcome;
  }

  async delete(name: string): Promise<void> {
    await this.schedules.delete(name);
  }

  async runs(name: string, limit: number, cursor?: string): Promise<{ items: RunDetail[]; cursor: string | null }> {
    await this.schedules.get(name);
    const page = await this.schedules.runs(name, limit, cursor);
    const items = await Promise.all(
      page.items.map(async (run) => {
        const task = run.taskId ? await this.tasks.peek(run.taskId) : undefined;
        return { run, ...(task ? { task } : {}) };
      }),
    );
    return { items, cursor: page.cursor };
  }

  /** Read, change, write with the version fence; undefined from `next` means nothing to write. */
  private async change(name: string, next: (current: ScheduleRecord, now: number) => ScheduleRecord | undefined): Promise<ScheduleDetail> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.schedules.get(name);
      const changed = next(current, Date.now());
      if (!changed) return this.get(name);
      try {
        await this.schedules.replace(changed);
        return this.get(name);
      } catch (error) {
        if (!(error instanceof ScheduleVersionConflict) || attempt === WRITE_ATTEMPTS) throw error;
      }
    }
  }
}
