/** The bench's efficiency (bin/bench/rounds.ts): every round reported, the median round's figures as the result. */
import { describe, expect, it } from 'vitest';
import { summarizeRounds } from '../../bin/bench/rounds.ts';

describe('summarizeRounds', () => {
  it('takes the median round, keeps every round in the order measured', () => {
    const summary = summarizeRounds([
      { tasksPerSecond: 16, rawSdkTasksPerSecond: 32 },
      { tasksPerSecond: 18, rawSdkTasksPerSecond: 20 },
      { tasksPerSecond: 14, rawSdkTasksPerSecond: 20 },
    ]);
    expect(summary.efficiencyRounds).toEqual([0.5, 0.9, 0.7]);
    expect(summary.efficiency).toBe(0.7);
    // The median round's own rates, so their ratio is the efficiency.
    expect(summary).toMatchObject({ tasksPerSecond: 14, rawSdkTasksPerSecond: 20 });
    expect(summary.rounds.map((r) => r.efficiency)).toEqual(summary.efficiencyRounds);
  });

  it('refuses no rounds', () => {
    expect(() => summarizeRounds([])).toThrow();
  });
});

describe('summarizeFairness', () => {
  const round = (small: number, idle: number) => ({
    backlog: 400,
    smallTenantTasks: 20,
    smallTenantWaitP50Ms: small,
    smallTenantWaitP99Ms: small + 100,
    idleWaitP50Ms: idle,
    bigTenantTasksPerSecond: 17,
  });

  it("takes the round with the median ratio of B's wait to the idle wait, whole, and keeps every round", async () => {
    const { summarizeFairness } = await import('../../bin/bench/tenancy.ts');
    const summary = summarizeFairness([round(780, 465), round(2540, 271), round(842, 400)]);
    // Ratios 1.68, 9.37, 2.11: the median round is the third, its figures taken together.
    expect(summary).toMatchObject({ smallTenantWaitP50Ms: 842, smallTenantWaitP99Ms: 942, idleWaitP50Ms: 400, ratio: 2.11 });
    expect(summary.rounds.map((r) => r.ratio)).toEqual([1.68, 9.37, 2.11]);
    expect(() => summarizeFairness([])).toThrow();
  });
});
