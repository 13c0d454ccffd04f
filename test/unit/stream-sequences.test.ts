/**
 * The local stream's parallel delivery (Lambda's ParallelizationFactor): a record's item decides
 * its sequence, each sequence is delivered in order, sequences side by side, and a failure is
 * retried from the earliest record any sequence failed at.
 */
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { deliverInSequences, StreamEventSource, sequenceOf } from '../../bin/local/event-sources.ts';

const record = (item: string, sequence: number): _Record => ({
  dynamodb: { Keys: { pk: { S: `TASK#${item}` }, id: { S: 'STATE' } }, SequenceNumber: String(1000 + sequence) },
});
const sequenceNumber = (r: _Record) => Number(r.dynamodb?.SequenceNumber);
const itemOf = (r: _Record) => String(r.dynamodb?.Keys?.pk?.S);

// Ten items, each changed five times, interleaved as a stream reports them.
const records = Array.from({ length: 50 }, (_, n) => record(`t${n % 10}`, n));

describe('the local stream in several sequences', () => {
  it('keeps an item in one sequence, and spreads items over all of them', () => {
    const of = new Map<string, Set<number>>();
    for (const r of records) of.set(itemOf(r), (of.get(itemOf(r)) ?? new Set()).add(sequenceOf(r, 4)));
    expect([...of.values()].every((s) => s.size === 1)).toBe(true);
    const many = Array.from({ length: 400 }, (_, n) => sequenceOf(record(`x${n}`, n), 4));
    for (let s = 0; s < 4; s++) expect(many.filter((m) => m === s).length).toBeGreaterThan(50);
  });

  it('delivers each item’s records in order, sequences side by side, and nothing when there is one sequence', async () => {
    let inFlight = 0;
    let most = 0;
    const delivered: _Record[] = [];
    const failedFrom = await deliverInSequences(records, 4, 3, async (batch) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      delivered.push(...batch);
      inFlight--;
      return undefined;
    });
    expect(failedFrom).toBeUndefined();
    expect(most).toBeGreaterThan(1);
    expect(delivered).toHaveLength(records.length);
    for (let item = 0; item < 10; item++) {
      const order = delivered.filter((r) => itemOf(r) === `TASK#t${item}`).map(sequenceNumber);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    const one: _Record[][] = [];
    await deliverInSequences(records, 1, 7, async (batch) => void one.push(batch));
    expect(one.flat()).toEqual(records);
    expect(one.every((b) => b.length <= 7)).toBe(true);
  });

  it('stops a sequence at its failed batch and retries from the earliest failure of any sequence', async () => {
    const failing = new Set([String(1000 + 37), String(1000 + 12)]);
    const delivered: _Record[] = [];
    const failedFrom = await deliverInSequences(records, 4, 1, async ([r]) => {
      if (failing.has(String(r.dynamodb?.SequenceNumber))) return String(r.dynamodb?.SequenceNumber);
      delivered.push(r);
      return undefined;
    });
    expect(failedFrom).toBe('1012');
    // Nothing of the failed item after its failure was delivered (its sequence stopped there).
    const t2 = delivered.filter((r) => itemOf(r) === 'TASK#t2').map(sequenceNumber);
    expect(t2).toEqual([1002]);
  });

  it('refuses a parallelization that is not a whole number of at least 1', () => {
    const options = { streamArn: 'arn', batchSize: 10, filter: () => true, invoke: async () => undefined };
    for (const parallelization of [0, -1, 1.5, Number.NaN]) {
      expect(() => new StreamEventSource({ ...options, parallelization })).toThrow(/parallelization must be/);
    }
    expect(() => new StreamEventSource({ ...options, parallelization: 4 })).not.toThrow();
  });
});
