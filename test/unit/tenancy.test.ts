import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '#core/history.ts';
import type { TaskRecord } from '#core/model.ts';
import { decideRate } from '#core/rate-gate.ts';
import { fairShare, formerLaneShares, type LimitDefinition, limitsFor, needsAdmission, waitedLimitIds } from '#core/tenancy.ts';
import { taskRecord } from '../support/factories.ts';

const task = (over: Partial<TaskRecord>): TaskRecord => taskRecord({ id: 't1', type: 'export', priority: 'low', ...over });
const settings = { tenantConcurrency: 0, tenantLaneSharePercent: 80 };
const catalog = (...defs: Omit<LimitDefinition, 'updatedAt' | 'updatedBy'>[]) =>
  new Map(defs.map((d) => [`${d.scope}#${d.key}`, { ...d, updatedAt: 0, updatedBy: 't' }]));

describe('the limit a waiting task names', () => {
  it('is found from the task alone: every concurrency limit that applies can be named by the waitingFor it would show', () => {
    const tenantLimited = task({
      tenant: 'acme',
      concurrencyKey: 'partner-x',
      typeLimits: { concurrency: { limit: 2, key: 'tenant' } },
    });
    const applied = limitsFor(
      tenantLimited,
      catalog({ scope: 'tenant', key: 'acme', concurrency: 5 }, { scope: 'key', key: 'partner-x', concurrency: 1 }),
      settings,
    ).filter((l) => l.concurrency !== undefined);
    expect(applied.map((l) => l.id)).toEqual(['tenant#acme', 'key#partner-x', 'declared#export#tenant#acme', 'lane#low#acme']);
    for (const limit of applied) {
      expect(waitedLimitIds({ ...tenantLimited, waitingFor: { scope: limit.scope, key: limit.key } })).toContain(limit.id);
    }
    // A tenant's API limit and its type's declared limit show the same waitingFor: both are named.
    expect(waitedLimitIds({ ...tenantLimited, waitingFor: { scope: 'tenant', key: 'acme' } })).toEqual([
      'tenant#acme',
      'declared#export#tenant#acme',
    ]);
    expect(waitedLimitIds(tenantLimited)).toEqual([]);
    // A lane share of another lane or tenant than the task's is none of its limits.
    expect(waitedLimitIds({ ...tenantLimited, waitingFor: { scope: 'lane', key: 'high/acme' } })).toEqual([]);
  });
});

describe('which limits apply', () => {
  it('costs an untagged task of an unlimited type nothing: no admission at all', () => {
    expect(needsAdmission(task({}), catalog())).toBe(false);
    expect(limitsFor(task({}), catalog(), settings)).toEqual([]);
  });

  it('sends a tenant’s task through its fair share of the lane, its limit, its key and its type', () => {
    const limits = limitsFor(
      task({ tenant: 'acme', concurrencyKey: 'partner-x' }),
      catalog(
        { scope: 'tenant', key: 'acme', concurrency: 5 },
        { scope: 'key', key: 'partner-x', rate: { limit: 10, periodSeconds: 60 } },
        { scope: 'type', key: 'export', concurrency: 3 },
      ),
      settings,
    );
    expect(limits).toEqual([
      { id: 'tenant#acme', scope: 'tenant', key: 'acme', concurrency: 5 },
      { id: 'key#partner-x', scope: 'key', key: 'partner-x', rate: { limit: 10, periodSeconds: 60 } },
      { id: 'type#export', scope: 'type', key: 'export', concurrency: 3 },
      { id: 'lane#low#acme', scope: 'lane', key: 'low/acme', concurrency: fairShare('low', 80) },
    ]);
    expect(fairShare('low', 80)).toBe(40); // 5 invocations × 10 tasks, 80 %
  });

  it('gives a tenant without a limit the deployment default, and counts a type’s own limits apart from the API’s', () => {
    const limits = limitsFor(
      task({
        tenant: 'acme',
        typeLimits: { concurrency: { limit: 2, key: 'tenant' }, rateLimit: { limit: 1, periodSeconds: 5, key: 'type' } },
      }),
      catalog(),
      { ...settings, tenantConcurrency: 7 },
    );
    expect(limits.map((l) => [l.id, l.concurrency ?? l.rate])).toEqual([
      ['tenant#acme', 7],
      ['declared#export#tenant#acme', 2],
      ['declared#export#type#export', { limit: 1, periodSeconds: 5 }],
      ['lane#low#acme', 40],
    ]);
  });
});

describe('the rate gate', () => {
  it('never lets more than `limit` starts into any window of the period, whatever the arrivals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }),
        (limit, periodSeconds, gaps) => {
          const period = periodSeconds * 1000;
          let state = { recent: [] as number[], rv: 0 } as { recent: number[]; tat?: number; rv: number };
          const starts: number[] = [];
          // Each arrival tries; one turned away comes back at its reservation (perhaps a little late).
          const pending: { at: number; reservation?: number }[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap * 10;
            pending.push({ at: now });
          }
          for (let guard = 0; pending.length && guard < 5000; guard++) {
            pending.sort((a, b) => a.at - b.at);
            const next = pending.shift() as { at: number; reservation?: number };
            const { decision, next: written } = decideRate(state, { limit, periodSeconds }, next.at, next.reservation);
            state = { ...written, rv: state.rv + 1 };
            if (decision.kind === 'start') starts.push(next.at);
            else pending.push({ at: decision.until + (guard % 3) * 137, reservation: decision.until });
          }
          expect(pending).toEqual([]);
          for (const s of starts) expect(starts.filter((t) => t >= s && t < s + period).length).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lets a burst of `limit` through at once, then spaces the rest by period / limit', () => {
    let state = { recent: [] as number[], rv: 0 } as { recent: number[]; tat?: number; rv: number };
    const decisions = Array.from({ length: 7 }, () => {
      const { decision, next } = decideRate(state, { limit: 5, periodSeconds: 10 }, 0);
      state = { ...next, rv: state.rv + 1 };
      return decision.kind === 'start' ? 0 : decision.until;
    });
    expect(decisions).toEqual([0, 0, 0, 0, 0, 10_000, 12_000]);
  });
});

describe('the lane shares a moved task may hold', () => {
  const entry = (reason: string) => encodeEvent({ at: 1, from: 'QUEUED', to: 'QUEUED', reason, attempt: 0, actor: 't' });
  it('are those of every lane its priority changes and aging named, but its current one', () => {
    const moved = task({
      tenant: 'acme',
      priority: 'critical',
      history: [entry('submit'), entry('priority:low>normal'), entry('aging:normal>high'), entry('priority:high>critical')],
    });
    expect(formerLaneShares(moved, settings).map((l) => [l.id, l.concurrency])).toEqual([
      ['lane#low#acme', fairShare('low', 80)],
      ['lane#normal#acme', fairShare('normal', 80)],
      ['lane#high#acme', fairShare('high', 80)],
    ]);
  });
  it('are every lane its history shows, across starts, takeovers and notes written while it runs', () => {
    const running = (from: 'QUEUED' | 'RUNNING', reason: string) =>
      encodeEvent({ at: 1, from, to: 'RUNNING', reason, attempt: 1, actor: 't' });
    const history = [
      entry('submit'),
      running('QUEUED', 'start'),
      // Moved twice while it runs (no new version), with a note between the moves.
      running('RUNNING', 'priority:low>normal'),
      running('RUNNING', 'pause-requested'),
      running('RUNNING', 'priority:normal>high'),
      // A lost worker's takeover runs the next attempt from the same low-lane message.
      encodeEvent({ at: 1, from: 'RUNNING', to: 'QUEUED', reason: 'worker-lost', attempt: 1, actor: 't' }),
      running('QUEUED', 'start'),
    ];
    expect(formerLaneShares(task({ tenant: 'acme', priority: 'high', history }), settings).map((l) => l.id)).toEqual([
      'lane#low#acme',
      'lane#normal#acme',
    ]);
  });
  it('include the Lambda lanes of a task whose Lambda attempt timed out into a container', () => {
    const history = [entry('submit'), entry('start'), entry('timeout-to-container')];
    expect(
      formerLaneShares(task({ tenant: 'acme', priority: 'normal', runtime: 'container', history }), settings).map((l) => l.id),
    ).toEqual(['lane#normal#acme']);
    // A container task from the start has only the long lane.
    expect(
      formerLaneShares(task({ tenant: 'acme', runtime: 'container', history: [entry('submit'), entry('priority:low>high')] }), settings),
    ).toEqual([]);
  });
  it('are none for a task that never moved, or has no tenant (the default tenant has no share)', () => {
    expect(formerLaneShares(task({ tenant: 'acme', history: [entry('submit'), entry('start')] }), settings)).toEqual([]);
    expect(formerLaneShares(task({ history: [entry('priority:low>high')] }), settings)).toEqual([]);
    // A reason that only looks like a priority change names no lane.
    expect(formerLaneShares(task({ tenant: 'acme', history: [entry('priority:low>urgent')] }), settings)).toEqual([]);
  });
});
