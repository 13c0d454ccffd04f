/**
 * The sweeper's pass: promote SCHEDULED tasks that are due, recover attempts whose lease expired.
 * It reads only the sparse sweep index, so a pass costs the same whatever the number of
 * finished tasks. Each recovery is one conditional write with a reason code in the history.
 */
import { StaleVersion } from './errors.ts';
import type { TaskRecord } from './model.ts';
import type { TaskStore } from './store.ts';

export interface SweepReport {
  examined: number;
  promoted: string[];
  recovered: { id: string; reason: string; status: string }[];
}

export type SweepDecision = { kind: 'promote' } | { kind: 'lease-expired' } | { kind: 'skip' };

export function decideSweep(task: TaskRecord, now: number): SweepDecision {
  if (task.status === 'SCHEDULED' && (task.runAt ?? 0) <= now) return { kind: 'promote' };
  if (task.status === 'RUNNING' && task.leaseUntil !== undefined && task.leaseUntil < now) return { kind: 'lease-expired' };
  return { kind: 'skip' };
}

export async function sweep(store: TaskStore, now = Date.now()): Promise<SweepReport> {
  const ids = await store.dueForSweep(now);
  const report: SweepReport = { examined: ids.length, promoted: [], recovered: [] };
  for (const id of ids) {
    const task = await store.find(id);
    if (!task) continue;
    const decision = decideSweep(task, now);
    try {
      if (decision.kind === 'promote') {
        await store.transition(task, { action: 'due', reason: 'due', actor: 'sweeper', set: { queuedAt: now }, now });
        report.promoted.push(id);
      }
    } catch (error) {
      // Someone else moved the task (a delayed message started it): nothing to recover.
      if (!(error instanceof StaleVersion)) throw error;
    }
  }
  return report;
}
