/** The update builder: one conditional UpdateItem per change, built without I/O. */
import { describe, expect, it } from 'vitest';
import { HISTORY_CAP } from '#core/history.ts';
import { buildUpdate } from '#core/update-builder.ts';

const task = (history: string[] = ['e1']) => ({ id: '01m86ghs3b2k721tmtwhexw', version: 4, history });

describe('the update builder', () => {
  it('bumps the version, sets fields, appends history and is fenced on the version it read', () => {
    const u = buildUpdate(task(), { set: { status: 'RUNNING', attempt: 2 }, remove: [], entries: ['e2'], bumpVersion: true });
    expect(u.UpdateExpression).toBe(
      'SET #version = #version + :one, #history = list_append(#history, :entries), #status = :status, #attempt = :attempt',
    );
    expect(u.ConditionExpression).toBe('#version = :v');
    expect(u.ExpressionAttributeValues).toMatchObject({ ':v': 4, ':one': 1, ':entries': ['e2'], ':status': 'RUNNING', ':attempt': 2 });
  });

  it('keeps the version of a change that is not a transition, and skips undefined fields', () => {
    const u = buildUpdate(task(), {
      set: { progress: { percent: 5 }, checkpoint: undefined },
      remove: [],
      entries: [],
      bumpVersion: false,
    });
    expect(u.UpdateExpression).toBe('SET #progress = :progress');
    expect(u.ExpressionAttributeNames).not.toHaveProperty('#checkpoint');
  });

  it('removes controlAt with control, and never removes a field it also sets', () => {
    const u = buildUpdate(task(), { set: { leaseUntil: 9 }, remove: ['control', 'leaseUntil'], entries: [], bumpVersion: true });
    expect(u.UpdateExpression).toBe('SET #version = #version + :one, #leaseUntil = :leaseUntil REMOVE #control, #controlAt');
  });

  it('fences on status, lease and control request when asked', () => {
    const u = buildUpdate(task(), {
      set: { status: 'QUEUED' },
      remove: [],
      entries: [],
      bumpVersion: true,
      status: 'RUNNING',
      lease: 77,
      control: null,
    });
    expect(u.ConditionExpression).toBe('#version = :v AND #status = :required AND #leaseUntil = :lease AND attribute_not_exists(#control)');
    const paused = buildUpdate(task(), { set: {}, remove: [], entries: ['x'], bumpVersion: true, control: 'pause' });
    expect(paused.ConditionExpression).toBe('#version = :v AND #control = :expectedControl');
    expect(paused.ExpressionAttributeValues[':expectedControl']).toBe('pause');
  });

  it('puts a lease into the sweep index only when asked (container attempts)', () => {
    const indexed = buildUpdate(task(), { set: { leaseUntil: 1000 }, remove: [], entries: [], bumpVersion: false, indexLease: true });
    expect(indexed.ExpressionAttributeValues).toMatchObject({ ':sweepAt': 1000, ':sweepShard': expect.stringMatching(/^S#\d$/) });
    const lambda = buildUpdate(task(), { set: { leaseUntil: 1000 }, remove: [], entries: [], bumpVersion: false });
    expect(lambda.ExpressionAttributeValues).not.toHaveProperty(':sweepAt');
  });

  it('rewrites a full history to the cap, counting what it drops', () => {
    const full = Array.from({ length: HISTORY_CAP }, (_, i) => `e${i}`);
    const u = buildUpdate({ ...task(full), historyDropped: 3 }, { set: {}, remove: [], entries: ['n1', 'n2'], bumpVersion: true });
    const history = u.ExpressionAttributeValues[':history'] as string[];
    expect(history).toHaveLength(HISTORY_CAP);
    expect(history.slice(-2)).toEqual(['n1', 'n2']);
    expect(history[0]).toBe('e2');
    expect(u.ExpressionAttributeValues[':historyDropped']).toBe(5);
    expect(u.UpdateExpression).not.toContain('list_append');
  });
});
