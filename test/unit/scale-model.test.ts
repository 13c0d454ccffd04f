/** The scale model (bin/bench/scale-model.ts): what binds at a load, what lifts it, and the README's "At scale" section is its output. */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyChange,
  countedPerTask,
  liveConfiguration,
  PARTITION_KEY_TARGET,
  type ScaleConfiguration,
  type ScaleRow,
  scaleModel,
  scaleModelMarkdown,
} from '../../bin/bench/scale-model.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const atScale = readme.slice(readme.indexOf('## At scale'), readme.indexOf('\n## ', readme.indexOf('## At scale')));

// The defaults, whatever the shell running the tests sets.
const live = liveConfiguration({});
const rowAt = (tasksPerSecond: number, configuration: ScaleConfiguration = live): ScaleRow => {
  const row = scaleModel({ configuration, loads: [tasksPerSecond] }).rows[0];
  if (!row) throw new Error('no row');
  return row;
};
const use = (row: ScaleRow, id: string) => {
  const limit = row.limits.find((l) => l.id === id);
  if (!limit) throw new Error(`no limit ${id}`);
  return limit;
};
const partitionKeys = (row: ScaleRow) => row.limits.filter((l) => l.id.startsWith('partition-key') || l.id === 'sweep-index-writes');

describe('the scale model at the default configuration', () => {
  it('has nothing bind at 100 tasks/s', () => {
    const row = rowAt(100);
    expect(row.bindingLimit).toMatch(/^none/);
    expect(row.change).toBe('none');
  });

  it('at 10,000 tasks/s binds first on the normal lane, with the partition keys at 3.75 times their limit', () => {
    const row = rowAt(10_000);
    expect(row.bindingLimit).toBe('lane normal concurrency at 1,500 %');
    expect(use(row, 'partition-key-writes').utilisation).toBeCloseTo((10_000 * 3) / 8 / 1000);
    expect(row.change).toContain('writeShards ≥ 60');
    expect(row.configurationOnly).toBe(true);
  });

  it('proposes a change for 10,000 tasks/s that keeps every partition key within half its limit and every limit within its target', () => {
    const row = rowAt(10_000, applyChange(live, rowAt(10_000).proposed));
    for (const key of partitionKeys(row)) expect(key.utilisation, key.id).toBeLessThanOrEqual(PARTITION_KEY_TARGET);
    expect(row.limits.filter((l) => l.binds).map((l) => l.id)).toEqual([]);
    expect(row.change).toBe('none');
  });
});

describe('the write shard setting', () => {
  // Lanes and the API lifted, so the partition keys are what binds at 10,000 tasks/s.
  const keysBind = applyChange(live, { laneConcurrency: { normal: 188 }, apiRateLimit: 12_500, quotas: { apiRequestsPerSecond: 12_500 } });

  it('is what the partition-key row turns on', () => {
    const row = rowAt(10_000, keysBind);
    expect(row.bindingLimit).toBe('DynamoDB writes per partition key at 375 %');
    expect(row.change).toBe('writeShards ≥ 60');
  });

  it('when raised, takes the load off each key; at the count the model asks for, the row no longer binds', () => {
    const at16 = rowAt(10_000, { ...keysBind, writeShards: 16 });
    expect(use(at16, 'partition-key-writes').utilisation).toBeCloseTo((10_000 * 3) / 16 / 1000);
    expect(at16.change).toBe('writeShards ≥ 60');
    const at60 = rowAt(10_000, { ...keysBind, writeShards: 60 });
    expect(at60.bindingLimit).toMatch(/^none/);
    expect(use(at60, 'partition-key-writes').utilisation).toBeLessThanOrEqual(PARTITION_KEY_TARGET);
  });

  it('takes the measured writes per task: more writes need more shards, and past the setting it is no longer configuration only', () => {
    const counted = countedPerTask();
    const heavy = { ...counted, dynamodbWru: 7, dynamodbWruBreakdown: { table: 6, index: 0, failedConditions: 1 } };
    const row = scaleModel({ configuration: keysBind, perTask: heavy, loads: [10_000] }).rows[0];
    expect(row?.configurationOnly).toBe(false);
    expect(row?.change).toMatch(/140 write shards \(past the setting's 128\)/);
  });
});

describe('the README', () => {
  it('shows in "At scale" exactly what `npm run bench -- --scale-model` prints', () => {
    expect(atScale).toContain(scaleModelMarkdown(scaleModel({ configuration: live })));
  });
});
