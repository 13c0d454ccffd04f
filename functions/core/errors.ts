/**
 * Typed domain errors. They carry a stable `code` and the context a caller needs; the HTTP
 * status for each is decided in one place (functions/handlers/http.ts), not here.
 */
import type { TaskRecord } from './model.ts';

export abstract class SluiceError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request is malformed or violates a schema. */
export class InvalidRequest extends SluiceError {
  readonly code: string;
  constructor(message: string, code = 'invalid-request', options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export class MalformedJson extends InvalidRequest {
  constructor(message: string) {
    super(message, 'malformed-json');
  }
}

export class UnknownTaskType extends InvalidRequest {
  constructor(readonly type: string) {
    super(`unknown task type "${type}"`, 'unknown-type');
  }
}

export class UnsupportedMediaType extends SluiceError {
  readonly code = 'unsupported-media-type';
}

export class PayloadTooLarge extends SluiceError {
  readonly code = 'payload-too-large';
  constructor(readonly limitBytes: number) {
    super(`request body exceeds ${limitBytes} bytes`);
  }
}

export class RouteNotFound extends SluiceError {
  readonly code = 'route-not-found';
}

export class MethodNotAllowed extends SluiceError {
  readonly code = 'method-not-allowed';
}

export class TaskNotFound extends SluiceError {
  readonly code = 'task-not-found';
  constructor(readonly id: string) {
    super(`task ${id} does not exist`);
  }
}

/** The task is not in a state that allows the requested change. */
export class InvalidTransition extends SluiceError {
  readonly code = 'invalid-transition';
  constructor(
    readonly task: TaskRecord,
    readonly action: string,
  ) {
    super(`cannot ${action} a task that is ${task.status}`);
  }
}

/** An Idempotency-Key was reused with a different request body. */
export class IdempotencyKeyReused extends SluiceError {
  readonly code = 'idempotency-key-reused';
  constructor(readonly key: string) {
    super(`Idempotency-Key "${key}" was already used for a different request`);
  }
}

/** DynamoDB kept refusing part of a write (throttling): nothing is lost, the caller may retry. */
export class StoreBusy extends SluiceError {
  readonly code = 'busy';
}

/**
 * A write lost its version fence: someone else changed the task first. Workers treat this as
 * "the message is stale" and move on; it never reaches a client.
 */
export class StaleVersion extends SluiceError {
  readonly code = 'stale-version';
  constructor(
    readonly id: string,
    readonly expectedVersion: number,
    readonly current: TaskRecord | undefined,
  ) {
    super(`task ${id} is no longer at version ${expectedVersion}`);
  }
}

/**
 * Whether a failed conditional write of a task means it moved on (written by someone else, or
 * gone): the message or waiter in hand is stale. Anything else — a throttled table, a lost
 * connection — is not an answer about the task, and must be retried rather than taken for one.
 */
export const movedOn = (error: unknown): boolean => error instanceof StaleVersion || error instanceof TaskNotFound;

export class ScheduleNotFound extends SluiceError {
  readonly code = 'schedule-not-found';
  constructor(readonly schedule: string) {
    super(`schedule ${schedule} does not exist`);
  }
}

export class ScheduleExists extends SluiceError {
  readonly code = 'schedule-exists';
  constructor(readonly schedule: string) {
    super(`a schedule named ${schedule} already exists`);
  }
}

export class LimitNotFound extends SluiceError {
  readonly code = 'limit-not-found';
  constructor(
    readonly scope: string,
    readonly key: string,
  ) {
    super(`no limit for ${scope} ${key}`);
  }
}

export class LaneNotFound extends SluiceError {
  readonly code = 'lane-not-found';
  constructor(
    readonly lane: string,
    why = 'no lane has that name',
  ) {
    super(`lane ${lane}: ${why}`);
  }
}

/** The lane's mapping is changing state (AWS refuses another change until it settles). */
export class LaneSwitchBusy extends SluiceError {
  readonly code = 'lane-switch-busy';
  constructor(readonly lane: string) {
    super(`lane ${lane}: its event source mapping is still changing state; try again in a few seconds`);
  }
}
