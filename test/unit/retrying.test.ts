import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '#core/model.ts';
import { backoffMs, decideAfterAttempt } from '#core/retrying.ts';
import { taskRecord } from '../support/factories.ts';

const running = (over: Partial<TaskRecord> = {}): TaskRecord => taskRecord({ status: 'RUNNING', id: 'x', attempt: 1, version: 2, ...over });

describe('backoff', () => {
  it('doubles from the base and stays within [half, full] of the nominal delay', () => {
    expect(backoffMs(1, {}, () => 0)).toBe(1000);
    expect(backoffMs(1, {}, () => 1)).toBe(2000);
    expect(backoffMs(3, {}, () => 1)).toBe(8000);
    expect(backoffMs(3, { baseDelaySeconds: 1 }, () => 0)).toBe(2000);
  });

  it('is capped', () => {
    expect(backoffMs(30, { maxDelaySeconds: 60 }, () => 1)).toBe(60_000);
  });
});

describe('after an attempt', () => {
  const now = 1_000_000;

  it('a pause withdrawn while the task was yielding to it re-queues the task without using an attempt', () => {
    const d = decideAfterAttempt({ ...running(), attempt: 2 }, { kind: 'interrupted', control: 'pause' }, now);
    expect(d).toMatchObject({ action: 'requeue', reason: 'pause-withdrawn', set: { attempt: 1 } });
    const honoured = decideAfterAttempt({ ...running(), attempt: 2, control: 'pause' }, { kind: 'interrupted', control: 'pause' }, now);
    expect(honoured).toMatchObject({ action: 'yield', reason: 'paused' });
  });

  it('a success records the result', () => {
    const d = decideAfterAttempt(running(), { kind: 'succeeded', result: '{"ok":1}' }, now);
    expect(d.action).toBe('succeed');
    expect(d.set).toMatchObject({ result: '{"ok":1}', finishedAt: now });
  });

  it('an error with attempts left re-queues after a backoff', () => {
    const d = decideAfterAttempt(
      running({ attempt: 1 }),
      { kind: 'errored', error: { code: 'task-error', message: 'x' }, retryable: true },
      now,
      {},
      () => 0,
    );
    expect(d.action).toBe('requeue');
    expect(d.set.notBefore).toBe(now + 1000);
  });

  it('an error on the last attempt fails the task with the error', () => {
    const d = decideAfterAttempt(
      running({ attempt: 3 }),
      { kind: 'errored', error: { code: 'task-error', message: 'boom' }, retryable: true },
      now,
    );
    expect(d).toMatchObject({ action: 'fail', reason: 'attempts-exhausted', set: { error: { message: 'boom' } } });
  });

  it('a non-retryable error fails at once', () => {
    const d = decideAfterAttempt(
      running({ attempt: 1 }),
      { kind: 'errored', error: { code: 'non-retryable', message: 'no' }, retryable: false },
      now,
    );
    expect(d).toMatchObject({ action: 'fail', reason: 'non-retryable' });
  });

  it('a backoff longer than SQS can delay goes through SCHEDULED', () => {
    const d = decideAfterAttempt(
      running({ attempt: 2, maxAttempts: 5 }),
      { kind: 'errored', error: { code: 'e', message: 'm' }, retryable: true },
      now,
      { baseDelaySeconds: 1000 },
      () => 1,
    );
    expect(d.action).toBe('defer');
    expect(d.set.runAt).toBe(now + 2_000_000);
  });

  it('moves a timed-out Lambda attempt to a container when the type says onTimeout: container', () => {
    const timeout = { kind: 'errored' as const, error: { code: 'timeout', message: 't' }, retryable: true };
    const d = decideAfterAttempt(running(), timeout, now, { onTimeout: 'container', containerTimeoutSeconds: 7200 });
    expect(d).toMatchObject({ action: 'requeue', reason: 'timeout-to-container', set: { runtime: 'container', timeoutSeconds: 7200 } });
    expect(decideAfterAttempt(running(), timeout, now, {}).reason).toBe('retry-backoff:timeout');
    expect(decideAfterAttempt(running({ runtime: 'container' }), timeout, now, { onTimeout: 'container' }).reason).toBe(
      'retry-backoff:timeout',
    );
  });

  it('pausing and eviction give the attempt back', () => {
    expect(decideAfterAttempt(running({ attempt: 2 }), { kind: 'interrupted', control: 'pause' }, now).set.attempt).toBe(1);
    expect(decideAfterAttempt(running({ attempt: 2 }), { kind: 'evicted', reason: 'sigterm' }, now)).toMatchObject({
      action: 'requeue',
      set: { attempt: 1 },
    });
  });

  it('a cancel ends the task as cancelled', () => {
    expect(decideAfterAttempt(running(), { kind: 'interrupted', control: 'cancel' }, now).action).toBe('abort');
  });
});
