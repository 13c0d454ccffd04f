/**
 * Users' control of a task: change priority, pause, resume, cancel, retry (re-run).
 * `decideControl` is pure: given the current task it says what one write to make (or that the
 * request is already satisfied, or not allowed). `TaskControl` reads, decides and writes with the
 * version fence, deciding again if someone else wrote first.
 */
import { InvalidTransition, StaleVersion } from './errors.ts';
import { priorityChangeReason } from './history.ts';
import { isTerminal, type Priority, type TaskRecord } from './model.ts';
import type { TaskAction } from './state-machine.ts';
import type { TaskChanges, TaskStore, TransitionRequest } from './store.ts';

export type ControlRequest =
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'cancel' }
  | { action: 'retry' }
  | { action: 'priority'; priority: Priority };

type Removable = NonNullable<TransitionRequest['remove']>[number];

export type ControlDecision =
  | { kind: 'transition'; action: TaskAction; reason: string; set?: TaskChanges; remove?: Removable[] }
  /** Not a status change: a request for a running task, or a new priority. */
  | { kind: 'annotate'; reason: string; set?: TaskChanges; remove?: Removable[]; bumpVersion: boolean }
  /** Already as asked (pausing a paused task): answer with the task, write nothing. */
  | { kind: 'unchanged' }
  | { kind: 'rejected' };

export function decideControl(task: TaskRecord, request: ControlRequest, now: number): ControlDecision {
  const { status } = task;
  if (isTerminal(status)) {
    return request.action === 'retry'
      ? {
          kind: 'transition',
          action: 'retry',
          reason: 'rerun',
          set: { attempt: 0, queuedAt: now },
          remove: ['error', 'result', 'resultRef', 'progress', 'checkpoint', 'startedAt', 'finishedAt', 'notBefore', 'control', 'runAt'],
        }
      : { kind: 'rejected' };
  }
  switch (request.action) {
    case 'retry':
      return { kind: 'rejected' };
    case 'pause':
      if (status === 'QUEUED' || status === 'SCHEDULED') return { kind: 'transition', action: 'pause', reason: 'paused' };
      if (status === 'RUNNING') {
        if (task.control === 'cancel') return { kind: 'rejected' };
        if (task.control === 'pause') return { kind: 'unchanged' };
        return { kind: 'annotate', reason: 'pause-requested', set: { control: 'pause', controlAt: now }, bumpVersion: false };
      }
      return { kind: 'unchanged' }; // PAUSED
    case 'resume':
      if (status === 'PAUSED')
        return { kind: 'transition', action: 'resume', reason: 'resumed', set: { queuedAt: now }, remove: ['notBefore'] };
      if (status === 'RUNNING' && task.control === 'pause') {
        return { kind: 'annotate', reason: 'pause-withdrawn', remove: ['control'], bumpVersion: false };
      }
      return { kind: 'unchanged' }; // QUEUED, SCHEDULED, RUNNING: nothing is paused
    case 'cancel':
      if (status === 'RUNNING') {
        if (task.control === 'cancel') return { kind: 'unchanged' };
        return { kind: 'annotate', reason: 'cancel-requested', set: { control: 'cancel', controlAt: now }, bumpVersion: false };
      }
      return { kind: 'transition', action: 'cancel', reason: 'cancelled', set: { finishedAt: now } };
    case 'priority':
      if (task.priority === request.priority) return { kind: 'unchanged' };
      if (status === 'QUEUED') {
        return {
          kind: 'transition',
          action: 'reprioritise',
          reason: priorityChangeReason('priority', task.priority, request.priority),
          set: { priority: request.priority },
        };
      }
      // A running task keeps its fence; a scheduled or paused one gets a new version (a scheduled
      // task's pending delayed message is then re-sent on its new lane).
      return {
        kind: 'annotate',
        reason: priorityChangeReason('priority', task.priority, request.priority),
        set: { priority: request.priority },
        bumpVersion: status !== 'RUNNING',
      };
  }
}

const describe = (request: ControlRequest) => (request.action === 'priority' ? 'change the priority of' : request.action);

export class TaskControl {
  constructor(private readonly store: TaskStore) {}

  /** Apply a control request; returns the task after it. Throws TaskNotFound or InvalidTransition. */
  async apply(id: string, request: ControlRequest, actor: string): Promise<TaskRecord> {
    for (let round = 0; ; round++) {
      const current = await this.store.get(id);
      const now = Date.now();
      const decision = decideControl(current, request, now);
      try {
        switch (decision.kind) {
          case 'rejected':
            throw new InvalidTransition(current, describe(request));
          case 'unchanged':
            return current;
          case 'transition':
            return await this.store.transition(current, { ...decision, actor, now });
          case 'annotate':
            return await this.store.annotate(current, { ...decision, actor, now });
        }
      } catch (error) {
        // Someone wrote first (the worker finished, a progress write landed): decide again.
        if (error instanceof StaleVersion && round < 5) continue;
        throw error;
      }
    }
  }
}
