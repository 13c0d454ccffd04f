/**
 * History entries are stored as compact tab-separated strings inside the state item: a structured
 * map per entry would spend most of its bytes on attribute names, and every byte of the state item
 * is paid again on each update.
 */
import { PRIORITIES, type Priority, type TaskEvent, type TaskStatus } from './model.ts';

/** Who changed a task's priority: the control API (`priority`) or the sweeper's aging (`aging`). */
export type PriorityChanger = 'priority' | 'aging';

/** The history reason of a priority change, as the control API and the sweeper write it. */
export const priorityChangeReason = (by: PriorityChanger, from: Priority, to: Priority): string => `${by}:${from}>${to}`;

const PRIORITY_CHANGE = /^(?:priority|aging):([a-z]+)>([a-z]+)$/;
const isPriority = (value: string): value is Priority => (PRIORITIES as readonly string[]).includes(value);

/** The two priorities a reason written by priorityChangeReason names; none for any other reason. */
export function prioritiesChanged(reason: string): Priority[] {
  const change = PRIORITY_CHANGE.exec(reason);
  return change ? [change[1], change[2]].filter(isPriority) : [];
}

/** Entries kept in the item; older ones are dropped (and counted) so updates stay cheap. */
export const HISTORY_CAP = 100;

const clean = (s: string): string => s.replace(/[\t\n]/g, ' ');

export function encodeEvent(e: TaskEvent): string {
  return [e.at, e.from ?? '-', e.to, clean(e.reason), e.attempt, clean(e.actor)].join('\t');
}

export function decodeEvent(line: string): TaskEvent {
  const [at, from, to, reason, attempt, actor] = line.split('\t');
  return {
    at: Number(at),
    from: from === '-' ? null : (from as TaskStatus),
    to: to as TaskStatus,
    reason,
    attempt: Number(attempt),
    actor,
  };
}
