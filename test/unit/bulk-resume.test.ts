import { describe, expect, it } from 'vitest';
import bulk from '#tasks/bulk.ts';

describe('a bulk task resumed after its last checkpoint', () => {
  it('returns the finished walk instead of walking again from the start (which counted every task twice)', async () => {
    // The task builds its store first; a finished walk never uses it.
    process.env.TABLE_NAME ??= 'never-read';
    const state = { cursor: null, matched: 300, applied: 300, skipped: 0, total: 300 };
    const ctx = {
      id: 'bulk-1',
      attempt: 2,
      signal: new AbortController().signal,
      state,
      progress: async () => {
        throw new Error('a finished walk reports no progress');
      },
      checkpoint: async () => {
        throw new Error('a finished walk writes no checkpoint');
      },
    };
    const payload = { filter: { tenant: 'bulk-walk', status: 'SCHEDULED' }, action: 'priority', priority: 'low' } as never;
    expect(await bulk.run(payload, ctx)).toEqual({ action: 'priority', matched: 300, applied: 300, skipped: 0 });
  });
});
