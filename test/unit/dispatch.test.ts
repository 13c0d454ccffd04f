import { describe, expect, it } from 'vitest';
import { DISPATCH_FILTER_PATTERN, DISPATCHER_FILTER_PATTERNS, dispatchFor, FILL_FILTER_PATTERN, parseMessage } from '#core/dispatch.ts';
import type { TaskRecord } from '#core/model.ts';
import { matchesFilter } from '../../bin/local/filter.ts';
import { taskRecord } from '../support/factories.ts';

const task = (over: Partial<TaskRecord> = {}): TaskRecord => taskRecord({ priority: 'high', version: 4, ...over });

describe('dispatch', () => {
  it('sends a queued task to its priority lane with its version and next attempt', () => {
    expect(dispatchFor(task({}), 0)).toEqual({ lane: 'high', message: { id: 'a', v: 4, a: 1 }, delaySeconds: 0, group: 'default' });
    expect(dispatchFor(task({ tenant: 'acme' }), 0)?.group).toBe('acme'); // SQS fair queues' MessageGroupId
  });

  it('sends nothing for a write that kept the version', () => {
    expect(dispatchFor(task({ leaseUntil: 5 }), 0, task({}))).toBeUndefined();
    expect(dispatchFor(task({ version: 5 }), 0, task({ version: 4 }))?.message.v).toBe(5);
  });

  it('sends container tasks to the long lane whatever their priority', () => {
    expect(dispatchFor(task({ runtime: 'container', priority: 'critical' }), 0)?.lane).toBe('long');
  });

  it('sends nothing for other statuses', () => {
    for (const status of ['RUNNING', 'PAUSED', 'SUCCEEDED', 'SCHEDULED'] as const) expect(dispatchFor(task({ status }), 0)).toBeUndefined();
  });

  it('sends a scheduled task due within 15 minutes with a delay, and leaves later ones to the sweeper', () => {
    expect(dispatchFor(task({ status: 'SCHEDULED', runAt: 60_000 }), 0)).toMatchObject({ delaySeconds: 60, message: { v: 4 } });
    expect(dispatchFor(task({ status: 'SCHEDULED', runAt: 901_000 }), 0)).toBeUndefined();
  });

  it('delays a retry until its backoff ends, within the SQS limit', () => {
    expect(dispatchFor(task({ notBefore: 10_500 }), 0)?.delaySeconds).toBe(11);
    expect(dispatchFor(task({ notBefore: 10_000_000 }), 0)?.delaySeconds).toBe(900);
    expect(dispatchFor(task({ notBefore: 5 }), 1000)?.delaySeconds).toBe(0);
  });

  it('parses only task messages', () => {
    expect(parseMessage('{"id":"a","v":1,"a":1}')).toEqual({ id: 'a', v: 1, a: 1 });
    expect(() => parseMessage('{"id":"a"}')).toThrow(/not a task message/);
  });

  it('filters stream records the way the event source mapping does', () => {
    const record = (status: string) => ({ dynamodb: { NewImage: { status: { S: status } } } });
    expect(matchesFilter(DISPATCH_FILTER_PATTERN, record('QUEUED'))).toBe(true);
    expect(matchesFilter(DISPATCH_FILTER_PATTERN, record('RUNNING'))).toBe(false);
    expect(matchesFilter(DISPATCH_FILTER_PATTERN, { dynamodb: {} })).toBe(false);
  });

  it('neither sends nor is invoked for a task waiting for a slot, but is for the one a batch asks to fill from', () => {
    const waiting = (fill?: boolean) => ({
      dynamodb: {
        NewImage: {
          status: { S: 'QUEUED' },
          waitingFor: { M: { scope: { S: 'lane' }, key: { S: 'low/a' }, ...(fill ? { fill: { BOOL: true } } : {}) } },
        },
      },
    });
    expect(dispatchFor(task({ waitingFor: { scope: 'lane', key: 'low/a' } }), 0)).toBeUndefined();
    expect(matchesFilter(DISPATCH_FILTER_PATTERN, waiting())).toBe(false);
    expect(DISPATCHER_FILTER_PATTERNS.some((p) => matchesFilter(p, waiting()))).toBe(false);
    expect(matchesFilter(FILL_FILTER_PATTERN, waiting(true))).toBe(true);
    expect(matchesFilter(DISPATCH_FILTER_PATTERN, waiting(true))).toBe(false);
    // Woken: waitingFor removed, a new version — dispatched like any queued task.
    expect(matchesFilter(DISPATCH_FILTER_PATTERN, { dynamodb: { NewImage: { status: { S: 'QUEUED' } } } })).toBe(true);
  });
});

describe('dispatching a batch of changes', () => {
  it('groups messages by lane, ten to a request, and retries the stream from the earliest one not sent', async () => {
    const { laneBatches, planDispatches, retryFrom } = await import('#core/dispatching.ts');
    const { taskRecord } = await import('../support/factories.ts');
    const changes = Array.from({ length: 23 }, (_, i) => ({
      sequence: String(100 + i),
      image: taskRecord({ id: `t${i}`, status: 'QUEUED', priority: i < 21 ? 'low' : 'critical', version: 1 }),
    }));
    const pending = planDispatches([...changes, { sequence: '999', image: taskRecord({ id: 'r', status: 'RUNNING' }) }], Date.now());
    expect(pending).toHaveLength(23);
    expect(laneBatches(pending).map((b) => [b.lane, b.items.length])).toEqual([
      ['low', 10],
      ['low', 10],
      ['low', 1],
      ['critical', 2],
    ]);
    expect(retryFrom(['120', '1000', '105'])).toBe('105');
    expect(retryFrom([])).toBeUndefined();
  });

  it("takes a lane's tenants in turn, each tenant's messages in stream order", async () => {
    const { laneBatches, planDispatches } = await import('#core/dispatching.ts');
    const { taskRecord } = await import('../support/factories.ts');
    // Tenant a's backlog of 12, woken in the same batch as b's 3 and before them in the stream.
    const tenants = [...Array(12).fill('a'), 'b', 'b', 'b'];
    const changes = tenants.map((tenant, i) => ({
      sequence: String(100 + i),
      image: taskRecord({ id: `${tenant}${i}`, status: 'QUEUED', priority: 'low', version: 1, tenant }),
    }));
    const batches = laneBatches(planDispatches(changes, Date.now()));
    expect(batches.map((b) => b.items.map((p) => p.dispatch.message.id))).toEqual([
      ['a0', 'b12', 'a1', 'b13', 'a2', 'b14', 'a3', 'a4', 'a5', 'a6'],
      ['a7', 'a8', 'a9', 'a10', 'a11'],
    ]);
  });

  it('gives back the slots of tasks that left, but not of one the same batch put back in play', async () => {
    const { leavingChanges } = await import('#core/dispatching.ts');
    const { taskRecord } = await import('../support/factories.ts');
    let sequence = 100;
    const change = (id: string, status: TaskRecord['status'], previous: TaskRecord['status'], over: Partial<TaskRecord> = {}) => ({
      sequence: String(sequence++),
      image: taskRecord({ id, status, limited: true, priority: 'low', ...over }),
      previous: taskRecord({ id, status: previous, limited: true, priority: 'low' }),
    });
    const changes = [
      change('done', 'SUCCEEDED', 'RUNNING'),
      // Paused and resumed: the resumed version was admitted holding the slot it kept.
      change('resumed', 'PAUSED', 'QUEUED'),
      change('resumed', 'QUEUED', 'PAUSED'),
      // Paused, then moved to another priority while paused: the slot is the pause's lane's.
      change('moved', 'PAUSED', 'RUNNING'),
      change('moved', 'PAUSED', 'PAUSED', { priority: 'high' }),
      // Paused, resumed and cancelled: given back once.
      change('cancelled', 'PAUSED', 'RUNNING'),
      change('cancelled', 'QUEUED', 'PAUSED'),
      change('cancelled', 'CANCELLED', 'QUEUED'),
      // Never admitted: nothing to give back.
      change('plain', 'SUCCEEDED', 'RUNNING', { limited: undefined }),
    ];
    const leaving = leavingChanges(changes);
    expect(leaving.map((c) => [c.image.id, c.image.status, c.image.priority])).toEqual([
      ['done', 'SUCCEEDED', 'low'],
      ['moved', 'PAUSED', 'low'],
      ['cancelled', 'PAUSED', 'low'],
    ]);
  });
  it('gives back the former lane shares of a task put back in line after a move, judged from its history', async () => {
    const { laneMoveChanges } = await import('#core/dispatching.ts');
    const { taskRecord } = await import('../support/factories.ts');
    const { encodeEvent } = await import('#core/history.ts');
    const entry = (reason: string, from: TaskRecord['status'] = 'QUEUED', to: TaskRecord['status'] = from) =>
      encodeEvent({ at: 1, from, to, reason, attempt: 0, actor: 't' });
    const moved = [entry('submit'), entry('priority:low>high')];
    let sequence = 100;
    const change = (id: string, from: Partial<TaskRecord>, to: Partial<TaskRecord>) => ({
      sequence: String(sequence++),
      image: taskRecord({ id, status: 'QUEUED', limited: true, tenant: 'acme', priority: 'high', version: 2, history: moved, ...to }),
      previous: taskRecord({ id, status: 'QUEUED', limited: true, tenant: 'acme', priority: 'low', version: 1, ...from }),
    });
    const changes = [
      change('moved', {}, {}),
      // Moved, paused and resumed in one batch: its last change shows no move, its history does.
      change('resumed', {}, {}),
      change('resumed', { priority: 'high', version: 2 }, { status: 'PAUSED', version: 3 }),
      change('resumed', { priority: 'high', status: 'PAUSED', version: 3 }, { version: 4 }),
      // Moved while it ran, then retried: a new version in the new lane, the start lane's slot held.
      change(
        'retried',
        { priority: 'high', status: 'RUNNING' },
        {
          version: 3,
          history: [
            entry('submit'),
            entry('start', 'QUEUED', 'RUNNING'),
            entry('priority:low>high', 'RUNNING'),
            entry('retry', 'RUNNING', 'QUEUED'),
          ],
        },
      ),
      // Moved before a start: which lane's slot it holds is not written, so every other one goes back.
      change(
        'restarted',
        { priority: 'high', status: 'RUNNING' },
        { version: 4, history: [...moved, entry('start', 'QUEUED', 'RUNNING'), entry('retry', 'RUNNING', 'QUEUED')] },
      ),
      // Moved while running, still running (no new version): it ends in the lane it started in.
      change('running', { status: 'RUNNING', version: 2 }, { status: 'RUNNING' }),
      // Moved up and back down: its current lane is its first one.
      change('back', { priority: 'high' }, { priority: 'low', version: 3, history: [...moved, entry('priority:high>low')] }),
      // No tenant (no fair share), never moved, or not limited: nothing to give back.
      change('untenanted', { tenant: undefined }, { tenant: undefined }),
      change('stayed', { priority: 'high' }, { history: [entry('submit')] }),
      change('unlimited', { limited: undefined }, { limited: undefined }),
    ];
    expect(laneMoveChanges(changes).map((c) => [c.image.id, c.image.version])).toEqual([
      ['moved', 2],
      ['resumed', 4],
      ['retried', 3],
      ['restarted', 4],
      ['back', 3],
    ]);
  });
});
