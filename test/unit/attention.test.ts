import { describe, expect, it } from 'vitest';
import { attentionOf, Cadence } from '#core/attention.ts';

const quiet = { deadLetters: 0, failuresWaiting: {}, lanesBehind: [], recovered: 0 };

describe('what needs attention', () => {
  it('is nothing on a quiet pass, so an idle deployment publishes no metric', () => {
    expect(attentionOf({ ...quiet, failuresWaiting: { 'dispatch-failures': 0, 'schedule-failures': 0 }, recovered: 2 })).toEqual([]);
  });

  it('names each signal with its count', () => {
    expect(
      attentionOf({
        deadLetters: 3,
        failuresWaiting: { 'dispatch-failures': 0, 'schedule-failures': 4 },
        lanesBehind: ['low', 'long'],
        recovered: 5,
      }),
    ).toEqual([
      { reason: 'dead-letter', count: 3 },
      { reason: 'schedule-failures', count: 4 },
      { reason: 'lane-behind', count: 2 },
      { reason: 'recoveries', count: 5 },
    ]);
  });

  it('counts recoveries only past the threshold', () => {
    expect(attentionOf({ ...quiet, recovered: 1 }, 0)).toEqual([{ reason: 'recoveries', count: 1 }]);
    expect(attentionOf({ ...quiet, recovered: 3 }, 3)).toEqual([]);
  });
});

describe('the backstops’ cadence', () => {
  it('runs on an environment’s first pass and every n-th after it', () => {
    const cadence = new Cadence(3);
    expect(Array.from({ length: 7 }, () => cadence.next())).toEqual([true, false, false, true, false, false, true]);
    const everyPass = new Cadence(1);
    expect([everyPass.next(), everyPass.next()]).toEqual([true, true]);
  });

  it('refuses a cadence that is not a whole number of passes', () => {
    for (const every of [0, 1.5, -2]) expect(() => new Cadence(every)).toThrow(/whole number of passes/);
  });
});
