/**
 * The chaos test: a seeded mixed workload on the local runtime with SIGKILLed worker environments
 * and containers, injected duplicate deliveries and random controls. Every accepted task must end
 * terminal, with an outcome its type and controls explain, and no two executions of one task may
 * overlap in time. `npm run chaos` runs the same harness for longer.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../../bin/chaos/soak.ts';

describe('chaos', () => {
  it('loses no task, leaves none stuck and runs none twice at once, under kills, duplicates and controls', async () => {
    const report = await runChaos({ tasks: 140, seconds: 45, seed: 1001, settleSeconds: 150, recoverySeconds: 20 });
    // The run must actually have hurt: otherwise the invariants below prove nothing.
    expect(report.injected.workerKills).toBeGreaterThan(5);
    expect(report.injected.duplicates).toBeGreaterThan(0);
    expect(report.recoveryMs.count).toBeGreaterThan(0);
    expect(report.tasks.accepted).toBe(140);
    expect(report.notTerminal).toEqual([]);
    expect(report.unexplained).toEqual([]);
    expect(report.overlaps).toEqual([]);
    expect(report.recoveryMs.max, JSON.stringify(report.recoveryMs.slowest)).toBeLessThanOrEqual(report.boundMs);
    // After a worker killed while holding a task's message it never started (maybe before its first
    // visibility change): within the worker timeout plus the bound.
    expect(report.heldKillRecoveryMs.max, JSON.stringify(report.heldKillRecoveryMs.slowest)).toBeLessThanOrEqual(report.windowBoundMs);
  }, 360_000);
});
