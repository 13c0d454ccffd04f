/**
 * The chaos check's split of a gap between two executions into recoveries: each death the marks
 * cannot show starts a new recovery, and only a lost held message earns the wider window.
 */
import { describe, expect, it } from 'vitest';
import { recoverySegments } from '../../bin/chaos/recoveries.ts';

const gap = { lastMark: 1_000, nextBegin: 40_000, nextAttempt: 3, tickMs: 50, lastPid: 100 };

describe('recoverySegments', () => {
  it('is one recovery when nothing happened between the executions', () => {
    expect(recoverySegments({ ...gap, nextBegin: 10_000, nextAttempt: 2, starts: [{ at: 9_900, attempt: 2 }], holderKills: [] })).toEqual([
      { ms: 8_950, afterHeldKill: false },
    ]);
  });

  it('measures from an attempt that started and died before its body began', () => {
    // Attempt 2 started at 10 s (no marks: killed before its body), attempt 3 began at 28 s.
    const starts = [
      { at: 10_000, attempt: 2 },
      { at: 27_900, attempt: 3 },
    ];
    expect(recoverySegments({ ...gap, nextBegin: 28_000, starts, holderKills: [{ at: 12_000, pid: 200 }] })).toEqual([
      { ms: 8_950, afterHeldKill: false },
      { ms: 16_000, afterHeldKill: false },
    ]);
  });

  it('gives the window only after a worker died holding the message without starting it', () => {
    // Received again by 10 s and lost there; the message came back after the visibility timeout.
    expect(
      recoverySegments({
        ...gap,
        starts: [{ at: 39_900, attempt: 3 }],
        holderKills: [
          { at: 1_020, pid: 100 },
          { at: 10_000, pid: 200 },
        ],
      }),
    ).toEqual([
      { ms: 8_950, afterHeldKill: false },
      { ms: 30_000, afterHeldKill: true },
    ]);
  });

  it('ignores the dead execution’s own kill, kills outside the gap and the next attempt’s own start', () => {
    expect(
      recoverySegments({
        ...gap,
        nextBegin: 15_000,
        starts: [{ at: 14_900, attempt: 3 }],
        holderKills: [
          { at: 500, pid: 200 },
          { at: 1_030, pid: 100 },
          { at: 16_000, pid: 300 },
        ],
      }),
    ).toEqual([{ ms: 13_950, afterHeldKill: false }]);
  });
});
