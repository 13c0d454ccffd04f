/** A deployment with more write shards than the default: its tasks are listed and reconciled from every shard. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamo } from '#core/clients.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { shardOf } from '#core/ids.ts';
import { TaskStore } from '#core/store.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { taskRegistry } from '#tasks/index.ts';
import { provisionForTest, type TestResources } from '../support/aws.ts';

const SHARDS = 40;
let resources: TestResources;
let store: TaskStore;
let ids: string[];
const started = Date.now();

beforeAll(async () => {
  resources = await provisionForTest('shards');
  store = new TaskStore(dynamo(), resources.tableName, 2, SHARDS);
  const submitter = new TaskSubmitter(store, new IdempotencyStore(dynamo(), resources.tableName), taskRegistry);
  const batch = await submitter.submitBatch(
    { tasks: Array.from({ length: 80 }, (_, n) => ({ type: 'echo', payload: { n } })) },
    { actor: 'tester' },
  );
  ids = batch.value.map((t) => t.id);
});
afterAll(() => resources.cleanup());

describe('raised write shards', () => {
  it('spread new tasks past the first eight shards', () => {
    expect(Math.max(...ids.map(shardOf))).toBeGreaterThanOrEqual(8);
    expect(ids.every((id) => shardOf(id) < SHARDS)).toBe(true);
  });

  it('list every task, newest first, page by page', async () => {
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 30, cursor });
      listed.push(...page.items.map((t) => t.id));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    expect(new Set(listed)).toEqual(new Set(ids));
    expect(listed).toEqual([...listed].sort().reverse());
  });

  it('give the reconciliation every task created in its window', async () => {
    const found = await store.createdBetween(started - 60_000, Date.now() + 1, ['QUEUED']);
    expect(new Set(found.map((t) => t.id))).toEqual(new Set(ids));
  });

  it('are hidden from a store that queries fewer shards: why the count may only be raised', async () => {
    const lowered = new TaskStore(dynamo(), resources.tableName, 2, 8);
    const page = await lowered.list({ limit: 100 });
    expect(page.items.length).toBeLessThan(ids.length);
    expect(page.items.every((t) => shardOf(t.id) < 8)).toBe(true);
  });
});
