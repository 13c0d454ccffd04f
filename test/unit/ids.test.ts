import { describe, expect, it } from 'vitest';
import {
  createdAtOf,
  DEFAULT_WRITE_SHARDS,
  dayPartitionKeys,
  derivedTaskId,
  ID_SHARD_CAPACITY,
  isTaskId,
  newTaskId,
  shardOf,
  taskKey,
} from '#core/ids.ts';

describe('task ids', () => {
  it('encode their creation time and derive their partition from it', () => {
    const at = Date.UTC(2026, 10, 24, 13, 5, 0, 123);
    const id = newTaskId(at);
    expect(isTaskId(id)).toBe(true);
    expect(createdAtOf(id)).toBe(at);
    expect(taskKey(id).pk).toMatch(new RegExp(`^T#20261124#[0-${DEFAULT_WRITE_SHARDS - 1}]$`));
    expect(taskKey(id).id).toBe(id);
  });

  it('sort by creation time', () => {
    const older = newTaskId(1_700_000_000_000);
    const newer = newTaskId(1_700_000_000_001);
    expect(older.slice(0, 10) < newer.slice(0, 10)).toBe(true);
  });

  it('spread over every shard', () => {
    const shards = new Set(Array.from({ length: 400 }, () => taskKey(newTaskId()).pk));
    expect(shards.size).toBe(DEFAULT_WRITE_SHARDS);
  });

  it('reject anything that is not an id', () => {
    for (const bad of ['', 'abc', '../etc', `${newTaskId()}x`, newTaskId().toUpperCase()]) expect(isTaskId(bad)).toBe(false);
  });
});

describe('write shards', () => {
  const at = Date.UTC(2026, 10, 24, 9, 0);

  it('keep the ids of the default count exactly as they were: one shard character, 0 to 7', () => {
    // Made by the code before the count was a setting: a schedule's tick must derive the same id.
    expect(derivedTaskId('schedule|nightly|1764000000000', at)).toBe('01m86ch3m04kysjt08pk4gt');
    for (let i = 0; i < 200; i++) {
      const id = newTaskId(at);
      expect(shardOf(id)).toBe(Number(id[10]));
    }
  });

  it('spread ids over every shard of a raised count, each id naming its own partition', () => {
    const shards = 64;
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const id = newTaskId(at, shards);
      expect(id).toHaveLength(23);
      expect(isTaskId(id)).toBe(true);
      expect(taskKey(id).pk).toBe(`T#20261124#${shardOf(id)}`);
      seen.add(shardOf(id));
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: shards }, (_, i) => i));
  });

  it('list exactly the partitions that ids of the count are written to', () => {
    const keys = new Set(dayPartitionKeys('20261124', 20));
    for (let i = 0; i < 2000; i++) expect(keys.has(taskKey(newTaskId(at, 20)).pk)).toBe(true);
  });

  it('derive a tick id within the count it is given', () => {
    for (const shards of [1, 3, 32, 128]) expect(shardOf(derivedTaskId('schedule|s|1', at, shards))).toBeLessThan(shards);
  });

  it('refuse a count no id can name', () => {
    expect(() => newTaskId(at, 0)).toThrow(RangeError);
    expect(() => newTaskId(at, ID_SHARD_CAPACITY + 1)).toThrow(RangeError);
  });
});
