/**
 * The sweeper's pass. It reads only the sparse sweep index (SCHEDULED tasks, container leases,
 * launches in progress) and a few messages per lane, so a pass costs the same whatever the number
 * of finished tasks. Every recovery is one conditional write whose history entry says why:
 * - `due`: a SCHEDULED task whose time has come is queued;
 * - `lease-expired` / `container-exit-N`: a container attempt that stopped heartbeating is
 *   re-queued on a new attempt (or FAILED when attempts are spent) and its container stopped;
 * - `cancel-forced`: a container that ignored a cancel is stopped and the task CANCELLED;
 * - `launch-failed`: a container that never started its task is launched again;
 * - `aging`: a task that waited past its lane's limit is raised one lane.
 */
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type ContainerSlots, slotHolder } from './container-slots.ts';
import type { ContainerPlatform } from './containers.ts';
import { parseMessage } from './dispatch.ts';
import { StaleVersion } from './errors.ts';
import { priorityChangeReason } from './history.ts';
import { LANES, type LaneName, watchedBySweeper } from './lanes.ts';
import { LAUNCH_GRACE_SECONDS } from './limits.ts';
import { isDue, PRIORITIES, type Priority, type TaskRecord } from './model.ts';
import { recoverLost } from './recovery.ts';
import type { TaskStore } from './store.ts';

export interface SweepReport {
  examined: number;
  promoted: string[];
  recovered: { id: string; reason: string; status: string }[];
  aged: string[];
  /** Lanes where a task the pass looked at had waited past the lane's `behindSeconds`. */
  behind: LaneName[];
  /** What failed in this pass (one task's or one lane's failure never stops the rest). */
  errors: { where: string; error: unknown }[];
}

export type SweepDecision = { kind: 'promote' } | { kind: 'lease-expired' } | { kind: 'launch-expired' } | { kind: 'skip' };

export function decideSweep(task: TaskRecord, now: number): SweepDecision {
  if (isDue(task, now)) return { kind: 'promote' };
  if (task.leaseUntil === undefined || task.leaseUntil >= now) return { kind: 'skip' };
  if (task.status === 'RUNNING') return { kind: 'lease-expired' };
  if (task.status === 'QUEUED') return { kind: 'launch-expired' };
  return { kind: 'skip' };
}

/** The next lane up for aging; critical is the top. */
export const raised = (priority: Priority): Priority => PRIORITIES[Math.max(0, PRIORITIES.indexOf(priority) - 1)];

export interface SweepDeps {
  /** Containers to stop and inspect; absent where the deployment has none. */
  platform?: ContainerPlatform;
  slots?: ContainerSlots;
  /** How long until a launch still starting is looked at again. @default 60 s */
  launchCheckMs?: number;
  /**
   * Lane queues to look into for aging, and which lanes are paused: a paused lane's tasks wait in
   * it, neither raised out of it nor reported as falling behind. Read only when a look finds a
   * task old enough to matter, once a pass.
   */
  lanes?: { sqs: SQSClient; urls: Record<LaneName, string>; paused?: () => Promise<ReadonlySet<LaneName>> };
}

export async function sweep(store: TaskStore, deps: SweepDeps = {}, now = Date.now()): Promise<SweepReport> {
  const ids = await store.dueForSweep(now);
  const report: SweepReport = { examined: ids.length, promoted: [], recovered: [], aged: [], behind: [], errors: [] };
  for (const id of ids) {
    try {
      const task = await store.find(id);
      if (task) await apply(store, deps, task, decideSweep(task, now), now, report);
    } catch (error) {
      // Someone else moved the task meanwhile (its runner, a control request): nothing to recover.
      if (!(error instanceof StaleVersion)) report.errors.push({ where: `task ${id}`, error });
    }
  }
  if (deps.lanes) await age(store, deps.lanes, now, report);
  return report;
}

async function apply(store: TaskStore, deps: SweepDeps, task: TaskRecord, decision: SweepDecision, now: number, report: SweepReport) {
  const actor = 'sweeper';
  switch (decision.kind) {
    case 'skip':
      return;
    case 'promote':
      await store.transition(task, { action: 'due', reason: 'due', actor, set: { queuedAt: now }, now });
      report.promoted.push(task.id);
      return;
    case 'launch-expired': {
      // A container may take minutes to start (Fargate pulls its image): look again later, until
      // the launch grace is spent. One that stopped without starting its task (it crashed, was
      // killed, its image is missing) is launched again at once.
      const stopped = task.containerRef !== undefined && (await deps.platform?.exitCode(task.containerRef)) !== undefined;
      if (!stopped && now < (task.launchedAt ?? 0) + LAUNCH_GRACE_SECONDS * 1000) {
        await store.touch(
          task.id,
          task.version,
          { leaseUntil: now + (deps.launchCheckMs ?? 60_000) },
          { status: 'QUEUED', indexLease: true },
        );
        return;
      }
      const after = await store.annotate(task, {
        reason: 'launch-failed',
        actor,
        bumpVersion: true,
        remove: ['leaseUntil', 'containerRef', 'launchedAt', 'sweepShard', 'sweepAt'],
        now,
      });
      if (task.containerRef) await deps.platform?.stop(task.containerRef, 'sluice: launch timed out');
      await deps.slots?.release(slotHolder(task.id, task.version));
      report.recovered.push({ id: task.id, reason: 'launch-failed', status: after.status });
      return;
    }
    case 'lease-expired': {
      const exit = task.containerRef ? await deps.platform?.exitCode(task.containerRef) : undefined;
      const exited = exit === undefined ? undefined : `container-exit-${exit}`;
      const lost = {
        reason: exited ? `lease-expired/${exited}` : 'lease-expired',
        error: {
          code: exited ?? 'lease-expired',
          message: exited ? `the container exited with code ${exit} without recording an outcome` : 'the container stopped heartbeating',
        },
      };
      // Fenced on the lease too: a heartbeat that renewed it after this pass read the task wins.
      const recovered = await recoverLost(store, task, lost, { actor, now });
      if (!recovered) return;
      const { task: after, reason } = recovered;
      if (task.containerRef) await deps.platform?.stop(task.containerRef, `sluice: ${reason}`);
      await deps.slots?.release(slotHolder(task.id, task.claim ?? task.version));
      report.recovered.push({ id: task.id, reason, status: after.status });
      return;
    }
  }
}

/**
 * Look at a few messages of each watched lane (#core/lanes.ts `watchedBySweeper`): raise the
 * tasks of aging lanes that waited too long one lane, and note a lane where one waited past its
 * `behindSeconds`.
 * The sweeper owns a message only once it has replaced it — raised its task (the new version goes
 * to the new lane) or refreshed it — and deletes only those. Every other message goes back as it
 * came, whatever it looks like: a redelivered message of a running attempt is that attempt's
 * watchdog, and the worker, not the sweeper, decides what a message means.
 */
async function age(store: TaskStore, lanes: NonNullable<SweepDeps['lanes']>, now: number, report: SweepReport): Promise<void> {
  // Read once a pass, and only when a look finds a task old enough for it to matter.
  let paused: Promise<ReadonlySet<LaneName>> | undefined;
  const isPaused = async (lane: LaneName): Promise<boolean> => {
    paused ??= lanes.paused?.() ?? Promise.resolve(new Set<LaneName>());
    return (await paused).has(lane);
  };
  for (const lane of LANES.filter(watchedBySweeper)) {
    const url = lanes.urls[lane.name];
    // A look into a lane that does not age only peeks (its messages stay visible): the launcher,
    // which holds messages back while the container cap is full, must never find them hidden.
    const peek = lane.agingSeconds === 0;
    try {
      const out = await lanes.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          // Short: a message this pass fails to hand back (the call fails) is back in seconds.
          VisibilityTimeout: peek ? 0 : 5,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      for (const m of out.Messages ?? []) {
        let replaced = false;
        try {
          replaced = await ageOne(store, lane, m.Body ?? '', Number(m.Attributes?.ApproximateReceiveCount ?? 0), now, report, isPaused);
        } catch (error) {
          if (!(error instanceof StaleVersion)) report.errors.push({ where: `aging ${lane.name}`, error });
        }
        if (peek && !replaced) continue; // still visible: nothing to hand back
        // One message's failed hand-back must not keep the others out of sight.
        const handBack = replaced
          ? lanes.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }))
          : lanes.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
        await handBack.catch((error: unknown) => report.errors.push({ where: `aging ${lane.name}`, error }));
      }
    } catch (error) {
      report.errors.push({ where: `aging ${lane.name}`, error });
    }
  }
}

/** Raise or refresh the task of one message; true when the message was replaced by a new one. */
async function ageOne(
  store: TaskStore,
  lane: (typeof LANES)[number],
  body: string,
  receiveCount: number,
  now: number,
  report: SweepReport,
  isPaused: (lane: LaneName) => Promise<boolean>,
): Promise<boolean> {
  let message: ReturnType<typeof parseMessage>;
  try {
    message = parseMessage(body);
  } catch {
    return false; // not ours to judge: the worker drops it, or the DLQ takes it
  }
  const task = await store.find(message.id);
  if (task?.status !== 'QUEUED' || task.version !== message.v) return false;
  const waitedMs = now - (task.queuedAt ?? now);
  const behind = waitedMs > lane.behindSeconds * 1000;
  const due = lane.agingSeconds > 0 && waitedMs > lane.agingSeconds * 1000 && task.runtime === 'lambda';
  // A paused lane's tasks wait in it: that is what the pause is for.
  const waits = (behind || due) && (await isPaused(lane.name));
  if (behind && !waits && !report.behind.includes(lane.name)) report.behind.push(lane.name);
  if (due && !waits) {
    const priority = raised(task.priority);
    await store.transition(task, {
      action: 'reprioritise',
      reason: priorityChangeReason('aging', task.priority, priority),
      actor: 'sweeper',
      set: { priority, queuedAt: now },
      now,
    });
    report.aged.push(task.id);
    return true;
  }
  if (receiveCount >= lane.maxReceiveCount - 2) {
    // Looking at a message counts as receiving it: replace it before it reaches the DLQ.
    await store.annotate(task, { reason: 'refreshed', actor: 'sweeper', bumpVersion: true, now });
    return true;
  }
  return false;
}
