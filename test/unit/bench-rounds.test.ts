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
