/**
 * Keeping EventBridge Scheduler in line with the schedule items: the stream's sync function
 * applies each changed item (create, update, disable, delete), and its repair pass (every five
 * minutes, on a rule of its own) finds
 * what the stream missed — a Scheduler schedule without its item, an item without its Scheduler
 * schedule, or one Scheduler last changed before the item's latest change.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  type ScheduleSummary,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { nextRuns, schedulerExpression } from './recurrence.ts';
import { SCHEDULE_PARTITION } from './schedule-store.ts';
import { recurrenceOf, type ScheduleRecord, scheduleState } from './schedules.ts';

/** Where ticks go: the stack's schedule group, the fire function and the role Scheduler assumes to invoke it. */
export interface SchedulerTarget {
  readonly group: string;
  readonly functionArn: string;
  readonly roleArn: string;
  /** Where Scheduler puts a tick it could not deliver. */
  readonly deadLetterArn?: string;
}

/** The stream records the sync function takes: schedule items only (ticks never rewrite them). */
export const SCHEDULE_SYNC_FILTER_PATTERN = { dynamodb: { Keys: { pk: { S: [SCHEDULE_PARTITION] } } } } as const;

/** The input each Scheduler schedule sends (FireEventSchema), with Scheduler's context attributes. */
export const FIRE_INPUT_TEMPLATE = (name: string): string =>
  JSON.stringify({
    schedule: name,
    scheduledTime: '<aws.scheduler.scheduled-time>',
    executionId: '<aws.scheduler.execution-id>',
    attempt: '<aws.scheduler.attempt-number>',
  });

/** Scheduler retries a failed delivery for up to an hour, then dead-letters it. The fire path is idempotent. */
export const FIRE_RETRY_POLICY = { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 3600 } as const;

/** What the repair rule sends the sync function. */
export const REPAIR_EVENT = { repair: true } as const;

/** The repair leaves changes younger than this to the stream. */
export const SYNC_GRACE_MS = 30_000;

/** The Scheduler schedule an item stands for, now. */
export function desiredSchedule(record: ScheduleRecord, target: SchedulerTarget, now: number): CreateScheduleCommandInput {
  const recurrence = recurrenceOf(record, 1);
  const state = scheduleState(record, now);
  // A rate starts at StartDate (or at once, without one): start it at its next tick so it keeps
  // its phase however late the sync runs. Scheduler refuses a StartDate over 5 minutes old.
  const start =
    recurrence.kind === 'every'
      ? nextRuns(recurrence, { after: Math.max(now, record.startAt ?? now) - 1, count: 1, anchor: record.anchor })[0]
      : record.startAt !== undefined && record.startAt > now
        ? record.startAt
        : undefined;
  return {
    Name: record.name,
    GroupName: target.group,
    Description: `Sluice schedule ${record.name} (version ${record.version})`,
    ScheduleExpression: schedulerExpression(recurrence),
    ScheduleExpressionTimezone: record.timezone,
    State: state === 'ACTIVE' ? 'ENABLED' : 'DISABLED',
    ...(start !== undefined ? { StartDate: new Date(start) } : {}),
    ...(record.endAt !== undefined && state !== 'ENDED' ? { EndDate: new Date(record.endAt) } : {}),
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'NONE',
    Target: {
      Arn: target.functionArn,
      RoleArn: target.roleArn,
      Input: FIRE_INPUT_TEMPLATE(record.name),
      RetryPolicy: FIRE_RETRY_POLICY,
      ...(target.deadLetterArn ? { DeadLetterConfig: { Arn: target.deadLetterArn } } : {}),
    },
  };
}

export type SyncAction = 'created' | 'updated' | 'deleted' | 'unchanged';

export interface RepairReport {
  created: number;
  updated: number;
  deleted: number;
}

export class SchedulerSync {
  constructor(
    private readonly scheduler: SchedulerClient,
    private readonly target: SchedulerTarget,
  ) {}

  /** Make Scheduler hold what the item says (no item: no Scheduler schedule). Idempotent. */
  async apply(name: string, record: ScheduleRecord | undefined, now = Date.now()): Promise<SyncAction> {
    if (!record) {
      try {
        await this.scheduler.send(new DeleteScheduleCommand({ Name: name, GroupName: this.target.group }));
        return 'deleted';
      } catch (error) {
        if (error instanceof ResourceNotFoundException) return 'unchanged';
        throw error;
      }
    }
    const desired = desiredSchedule(record, this.target, now);
    try {
      await this.scheduler.send(new UpdateScheduleCommand(desired));
      return 'updated';
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    try {
      await this.scheduler.send(new CreateScheduleCommand(desired));
      return 'created';
    } catch (error) {
      // Created meanwhile by another sync (the stream and the repair can meet): bring it in line.
      if (!(error instanceof ConflictException)) throw error;
      await this.scheduler.send(new UpdateScheduleCommand(desired));
      return 'updated';
    }
  }

  async list(): Promise<ScheduleSummary[]> {
    const all: ScheduleSummary[] = [];
    let token: string | undefined;
    do {
      const out = await this.scheduler.send(new ListSchedulesCommand({ GroupName: this.target.group, NextToken: token, MaxResults: 100 }));
      all.push(...(out.Schedules ?? []));
      token = out.NextToken;
    } while (token);
    return all;
  }

  /**
   * The repair pass. Scheduler is listed before the items are read, so a schedule whose item
   * is missing was deleted (not created after the listing); changes younger than SYNC_GRACE_MS are
   * the stream's to apply.
   */
  async repair(loadRecords: () => Promise<ScheduleRecord[]>, now = Date.now()): Promise<RepairReport> {
    const existing = new Map((await this.list()).map((s) => [s.Name as string, s]));
    const records = await loadRecords();
    const report: RepairReport = { created: 0, updated: 0, deleted: 0 };
    for (const record of records) {
      if (now - record.updatedAt < SYNC_GRACE_MS) continue;
      const held = existing.get(record.name);
      const wanted = scheduleState(record, now) === 'ACTIVE' ? 'ENABLED' : 'DISABLED';
      const stale = held && ((held.LastModificationDate?.getTime() ?? 0) < record.updatedAt || held.State !== wanted);
      if (held && !stale) continue;
      const action = await this.apply(record.name, record, now);
      if (action === 'created') report.created++;
      else report.updated++;
    }
    const names = new Set(records.map((r) => r.name));
    for (const [name, held] of existing) {
      if (names.has(name) || now - (held.CreationDate?.getTime() ?? 0) < SYNC_GRACE_MS) continue;
      if ((await this.apply(name, undefined, now)) === 'deleted') report.deleted++;
    }
    return report;
  }
}
