/**
 * EventBridge Scheduler, played locally. The emulator stores schedules but never fires them, so
 * this reads them back through the Scheduler API (ListSchedules, then GetSchedule when one
 * changed) and invokes the fire function at their times with the input Scheduler would send:
 * the target's Input with the context attributes (scheduled time, schedule ARN, execution id,
 * attempt) filled in. Like Scheduler it does not catch up on ticks missed while it was not running.
 */
import { randomUUID } from 'node:crypto';
import { GetScheduleCommand, type GetScheduleCommandOutput, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { fromSchedulerExpression, nextRuns, type Recurrence } from '#core/recurrence.ts';

export interface SchedulerEmulatorOptions {
  group: string;
  /** The fire function (the one target this stack's schedules have). */
  invoke: (input: unknown) => Promise<unknown>;
  /** How often the schedules are read back. @default 500 ms */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

interface Plan {
  modified: number;
  schedule: GetScheduleCommandOutput;
  recurrence?: Recurrence;
  /** The next fire time, epoch ms. */
  next?: number;
}

const DELIVERY_ATTEMPTS = 3;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SchedulerEmulator {
  private readonly client = new SchedulerClient({ region: process.env.AWS_REGION ?? 'us-east-1' });
  private readonly plans = new Map<string, Plan>();
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Ticks delivered, for tests and the bench. */
  fired = 0;

  constructor(private readonly options: SchedulerEmulatorOptions) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    this.client.destroy();
  }

  private async run(): Promise<void> {
    const started = Date.now();
    while (this.running) {
      try {
        await this.poll(started);
      } catch (error) {
        this.options.onError?.(error);
      }
      await pause(this.options.pollMs ?? 500);
    }
  }

  private async poll(started: number): Promise<void> {
    const now = Date.now();
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListSchedulesCommand({ GroupName: this.options.group, NextToken: token }));
      for (const summary of out.Schedules ?? []) {
        const name = summary.Name as string;
        seen.add(name);
        const modified = summary.LastModificationDate?.getTime() ?? 0;
        let plan = this.plans.get(name);
        if (!plan || plan.modified !== modified) {
          const schedule = await this.client.send(new GetScheduleCommand({ GroupName: this.options.group, Name: name }));
          plan = { modified, schedule, ...this.planFor(schedule, Math.max(now, started)) };
          this.plans.set(name, plan);
        }
      }
      token = out.NextToken;
    } while (token);
    for (const name of [...this.plans.keys()]) if (!seen.has(name)) this.plans.delete(name);

    for (const plan of this.plans.values()) {
      if (plan.next === undefined || plan.next > now || !plan.recurrence) continue;
      const tick = plan.next;
      plan.next = this.after(plan.schedule, plan.recurrence, tick);
      if (plan.schedule.State !== 'ENABLED') continue;
      this.deliver(plan.schedule, tick);
    }
  }

  private planFor(schedule: GetScheduleCommandOutput, from: number): { recurrence?: Recurrence; next?: number } {
    try {
      const recurrence = fromSchedulerExpression(schedule.ScheduleExpression as string, schedule.ScheduleExpressionTimezone ?? 'UTC');
      return { recurrence, next: this.after(schedule, recurrence, from - 1) };
    } catch (error) {
      this.options.onError?.(error);
      return {};
    }
  }

  /** The first fire time after `after`: a rate counts from StartDate (or from its creation, at once). */
  private after(schedule: GetScheduleCommandOutput, recurrence: Recurrence, after: number): number | undefined {
    const start = schedule.StartDate?.getTime();
    const anchor = start ?? schedule.CreationDate?.getTime() ?? Date.now();
    const from = start !== undefined ? Math.max(after, start - 1) : after;
    return nextRuns(recurrence, { after: from, count: 1, anchor, until: schedule.EndDate?.getTime() })[0];
  }

  /** Deliver a tick, retrying a failed delivery a few times with the same execution id, as Scheduler's retry policy does. */
  private deliver(schedule: GetScheduleCommandOutput, tick: number): void {
    const executionId = randomUUID();
    const inputFor = (attempt: number) =>
      JSON.parse(
        (schedule.Target?.Input ?? '{}')
          .replaceAll('<aws.scheduler.scheduled-time>', new Date(tick).toISOString().replace(/\.\d{3}Z$/, 'Z'))
          .replaceAll('<aws.scheduler.schedule-arn>', schedule.Arn ?? '')
          .replaceAll('<aws.scheduler.execution-id>', executionId)
          .replaceAll('<aws.scheduler.attempt-number>', String(attempt)),
      );
    this.fired++;
    const delivery = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.options.invoke(inputFor(attempt));
        } catch (error) {
          this.options.onError?.(error);
          if (attempt === DELIVERY_ATTEMPTS || !this.running) return undefined;
          await pause(1000 * attempt);
        }
      }
    })();
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }
}
