import { describe, expect, it } from 'vitest';
import { createdAtOf, isTaskId, newTaskId, SHARDS, taskKey } from '#core/ids.ts';

describe('task ids', () => {
  it('encode their creation time and derive their partition from it', () => {
    const at = Date.UTC(2026, 10, 24, 13, 5, 0, 123);
    const id = newTaskId(at);
    expect(isTaskId(id)).toBe(true);
    expect(createdAtOf(id)).toBe(at);
    expect(taskKey(id).pk).toMatch(new RegExp(`^T#20261124#[0-${SHARDS - 1}]$`));
    expect(taskKey(id).id).toBe(id);
  });

  it('sort by creation time', () => {
    const older = newTaskId(1_700_000_000_000);
    const newer = newTaskId(1_700_000_000_001);
    expect(older.slice(0, 10) < newer.slice(0, 10)).toBe(true);
  });

  it('spread over every shard', () => {
    const shards = new Set(Array.from({ length: 400 }, () => taskKey(newTaskId()).pk));
    expect(shards.size).toBe(SHARDS);
  });

  it('reject anything that is not an id', () => {
    for (const bad of ['', 'abc', '../etc', `${newTaskId()}x`, newTaskId().toUpperCase()]) expect(isTaskId(bad)).toBe(false);
  });
});
