/**
 * History entries are stored as compact tab-separated strings inside the state item: a structured
 * map per entry would spend most of its bytes on attribute names, and every byte of the state item
 * is paid again on each update.
 */
import type { TaskEvent, TaskStatus } from './model.ts';

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
