import { TASK_TABLE } from './table.ts';

/** Sparse index of the tasks the sweeper must find (SCHEDULED ones, container leases): nothing else carries these. */
export const SWEEP_INDEX = TASK_TABLE.sweepIndex;
export const SWEEP_SHARDS = 4;
export const sweepKey = (id: string, at: number) => ({
  sweepShard: `S#${Number.parseInt(id.slice(-1), 36) % SWEEP_SHARDS}`,
  sweepAt: at,
});
