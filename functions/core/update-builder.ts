/**
 * The one conditional UpdateItem every change of a task goes through, as a pure function: what to
 * set and remove, the history entries to append (rewriting the capped list when it overflows),
 * the version bump, and the fence — the version read, and optionally the status, the lease and
 * the control request. Unit-tested on its own; the store only sends what it builds.
 */
import { HISTORY_CAP } from './history.ts';
import type { ControlRequest, TaskRecord, TaskStatus } from './model.ts';
import { sweepKey } from './sweep-index.ts';

export type UpdateTarget = Pick<TaskRecord, 'id' | 'version' | 'history'> & Partial<TaskRecord>;

export interface UpdateSpec {
  set: Record<string, unknown>;
  remove: readonly string[];
  /** Encoded history entries to append. */
  entries: readonly string[];
  bumpVersion: boolean;
  /** Also require this status. */
  status?: TaskStatus;
  /** Also require this lease. */
  lease?: number;
  /** Also require this control request (null: none). */
  control?: ControlRequest | null;
  /** A lease set by this write goes into the sweep index (container attempts and launches). */
  indexLease?: boolean;
}

export interface BuiltUpdate {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

export function buildUpdate(current: UpdateTarget, spec: UpdateSpec): BuiltUpdate {
  const names: Record<string, string> = { '#version': 'version' };
  const values: Record<string, unknown> = { ':v': current.version };
  const assignments: string[] = [];
  if (spec.bumpVersion) {
    values[':one'] = 1;
    assignments.push('#version = #version + :one');
  }
  const set = { ...spec.set };
  // A container's lease is in the sweep index: that is how the sweeper finds an expired one. A
  // Lambda attempt's is not (its message is its watchdog), which saves an index write per start.
  if (set.leaseUntil !== undefined && spec.indexLease) Object.assign(set, sweepKey(current.id, set.leaseUntil as number));
  if (spec.entries.length > 0) {
    if (current.history.length + spec.entries.length > HISTORY_CAP) {
      // Rewrite the capped list (we know it: the write is fenced on the version we read it at).
      const keep = current.history.slice(current.history.length + spec.entries.length - HISTORY_CAP);
      set.history = [...keep, ...spec.entries];
      set.historyDropped = (current.historyDropped ?? 0) + current.history.length - keep.length;
    } else {
      names['#history'] = 'history';
      values[':entries'] = [...spec.entries];
      assignments.push('#history = list_append(#history, :entries)');
    }
  }
  for (const [field, value] of Object.entries(set)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    assignments.push(`#${field} = :${field}`);
  }
  const removals = [...new Set([...spec.remove, ...(spec.remove.includes('control') ? ['controlAt'] : [])])].filter(
    (field) => set[field] === undefined,
  );
  for (const field of removals) names[`#${field}`] = field;
  let condition = '#version = :v';
  if (spec.status) {
    names['#status'] = 'status';
    values[':required'] = spec.status;
    condition += ' AND #status = :required';
  }
  if (spec.lease !== undefined) {
    names['#leaseUntil'] = 'leaseUntil';
    values[':lease'] = spec.lease;
    condition += ' AND #leaseUntil = :lease';
  }
  if (spec.control !== undefined) {
    names['#control'] = 'control';
    if (spec.control === null) condition += ' AND attribute_not_exists(#control)';
    else {
      values[':expectedControl'] = spec.control;
      condition += ' AND #control = :expectedControl';
    }
  }
  return {
    UpdateExpression: `SET ${assignments.join(', ')}${removals.length ? ` REMOVE ${removals.map((f) => `#${f}`).join(', ')}` : ''}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
