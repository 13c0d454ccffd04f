/**
 * One tick of a schedule → at most one task, however often Scheduler delivers it.
 *
 * The tick's run item (created or skipped, with the reason) is written first, once, in a
 * transaction with the schedule's counts: it decides the tick. Then the task, whose id is derived
 * from (schedule, tick), is written with a conditional put. A redelivery finds the run item and
 * does nothing — except write the task a delivery that died between the two writes left unwritten.
 */
import * as z from 'zod/mini';
import { InvalidTransition } from './errors.ts';
import { DEFAULT_WRITE_SHARDS, derivedTaskId } from './ids.ts';
import { isTerminal, type TaskRecord } from './model.ts';
import type { ScheduleStore } from './schedule-store.ts';
import { type ScheduleRecord, type ScheduleRun, scheduleState } from './schedules.ts';
import type { TaskStore } from './store.ts';
import type { TaskSubmitter } from './submission.ts';

/**
 * What Scheduler sends the fire function: the input the sync writes into each schedule's target,
 * with Scheduler's context attributes filled in (the local runtime fills in the same).
 */
export const FireEventSchema = z.object({
  schedule: z.string(),
  scheduledTime: z.iso.datetime({ offset: true }),
  executionId: z.optional(z.string()),
  attempt: z.optional(z.string()),
});
export type FireEvent = z.infer<typeof FireEventSchema>;

export type TickOutcome =
  | { kind: 'created'; task: TaskRecord; cancelledPrevious?: string }
  | { kind: 'skipped'; reason: string }
  /** Already handled: a redelivery. */
  | { kind: 'duplicate' }
  /** The schedule is gone (its Scheduler schedule is an orphan the sweeper deletes). */
  | { kind: 'no-schedule' };

export interface TickOptions {
  /** A `trigger` request rather than a tick of the recurrence. */
  manual?: boolean;
  now?: number;
}

export const scheduleActor = (name: string): string => `schedule:${name}`;

/** The id of the task a tick creates (spread over the deployment's write shards like any task). */
export const tickTaskId = (name: string, tick: number, manual = false, shards = DEFAULT_WRITE_SHARDS): string =>
  derivedTaskId(`schedule|${name}|${tick}${manual ? '|manual' : ''}`, tick, shards);

/** Cancels a task for `cancel-previous` (TaskControl's apply, narrowed to what firing needs). */
export interface TaskCanceller {
  apply(id: string, request: { action: 'cancel' }, actor: string): Promise<TaskRecord>;
}

export class ScheduleFiring {
  constructor(
    private readonly schedules: ScheduleStore,
    private readonly tasks: TaskStore,
    private readonly submitter: Pick<TaskSubmitter, 'draft' | 'limits'>,
    private readonly canceller: TaskCanceller,
  ) {}

  async fire(name: string, tick: number, options: TickOptions = {}): Promise<TickOutcome> {
    const manual = options.manual ?? false;
    const now = options.now ?? Date.now();
    const id = tickTaskId(name, tick, manual, this.tasks.writeShards);
    const [{ schedule, book, run }, existing] = await Promise.all([this.schedules.forTick(name, tick, manual), this.tasks.find(id)]);
    if (run) return this.finish(run, existing, schedule, tick, now);
    if (!schedule) return { kind: 'no-schedule' };

    // The run item decides the tick, once: whichever delivery records it first, its decision stands.
    const skip = await this.skipReason(schedule, book.lastTaskId, tick, manual, now);
    const decided: ScheduleRun = skip
      ? { tick, at: now, kind: 'skipped', manual, reason: skip }
      : { tick, at: now, kind: 'created', manual, taskId: id };
    if (!(await this.schedules.recordRun(name, decided))) {
      const again = await this.schedules.forTick(name, tick, manual);
      return again.run ? this.finish(again.run, await this.tasks.find(id), again.schedule, tick, now) : { kind: 'duplicate' };
    }
    if (skip) return { kind: 'skipped', reason: skip };
    let cancelledPrevious: string | undefined;
    if (schedule.overlap === 'cancel-previous' && book.lastTaskId) {
      cancelledPrevious = await this.cancel(book.lastTaskId, name);
    }
    const task = await this.createTask(schedule, tick, id, now);
    return task ? { kind: 'created', task, ...(cancelledPrevious ? { cancelledPrevious } : {}) } : { kind: 'duplicate' };
  }

  /** A tick already decided: a delivery that died after recording "created" left its task to write. */
  private async finish(
    run: ScheduleRun,
    existing: TaskRecord | undefined,
    schedule: ScheduleRecord | undefined,
    tick: number,
    now: number,
  ): Promise<TickOutcome> {
    if (run.kind === 'created' && !existing && schedule && run.taskId) await this.createTask(schedule, tick, run.taskId, now);
    return { kind: 'duplicate' };
  }

  /** The tick's task (a conditional put of its derived id); undefined when it was there already. */
  private async createTask(schedule: ScheduleRecord, tick: number, id: string, now: number): Promise<TaskRecord | undefined> {
    const limits = await this.submitter.limits();
    const draft = this.submitter.draft(schedule.task, {
      actor: scheduleActor(schedule.name),
      now,
      id,
      schedule: { name: schedule.name, tick },
      limits,
    });
    if ((await this.tasks.createMissing([draft])) === 0) return undefined;
    // The task as written (no read back): its payload as the request gave it.
    return { ...draft.record, payload: draft.payloadJson };
  }

  private async skipReason(
    schedule: ScheduleRecord,
    lastTaskId: string | undefined,
    tick: number,
    manual: boolean,
    now: number,
  ): Promise<string | undefined> {
    const state = scheduleState(schedule, manual ? now : tick);
    if (state === 'ENDED') return 'ended: the schedule ended';
    if (!manual) {
      if (state === 'PAUSED') return 'paused: the schedule is paused';
      if (schedule.startAt !== undefined && tick < schedule.startAt) return 'not-started: before the schedule starts';
    }
    if (schedule.overlap !== 'skip' || !lastTaskId) return undefined;
    const previous = await this.tasks.find(lastTaskId);
    if (previous && !isTerminal(previous.status)) return `overlap: the previous task ${lastTaskId} is ${previous.status}`;
    return undefined;
  }

  /** Cancel the previous task if it has not finished; its id when a cancel was made. */
  private async cancel(taskId: string, name: string): Promise<string | undefined> {
    const previous = await this.tasks.find(taskId);
    if (!previous || isTerminal(previous.status)) return undefined;
    try {
      await this.canceller.apply(taskId, { action: 'cancel' }, scheduleActor(name));
      return taskId;
    } catch (error) {
      if (error instanceof InvalidTransition) return undefined; // it finished meanwhile
      throw error;
    }
  }
}

export type { ScheduleRun };
