import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '#core/history.ts';

describe('history entries', () => {
  it('round-trip, including the first entry that has no origin', () => {
    const first = { at: 1, from: null, to: 'QUEUED' as const, reason: 'submit', attempt: 0, actor: 'local' };
    const later = {
      at: 2,
      from: 'RUNNING' as const,
      to: 'FAILED' as const,
      reason: 'attempts-exhausted',
      attempt: 3,
      actor: 'arn:aws:iam::1:user/x',
    };
    expect(decodeEvent(encodeEvent(first))).toEqual(first);
    expect(decodeEvent(encodeEvent(later))).toEqual(later);
  });

  it('cannot be broken by tabs or newlines in a reason or actor', () => {
    const e = { at: 5, from: 'QUEUED' as const, to: 'PAUSED' as const, reason: 'a\tb\nc', attempt: 1, actor: 'x\ty' };
    expect(decodeEvent(encodeEvent(e))).toEqual({ ...e, reason: 'a b c', actor: 'x y' });
  });
});
