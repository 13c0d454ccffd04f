/**
 * Efficiency from several measured rounds: one round on a shared machine can land on a busy
 * moment of either side, so the bench reports every round and takes the median as the figure.
 */

export interface ThroughputRound {
  /** Sluice end to end (batch submit): tasks ÷ seconds from the first submit to the last finish. */
  readonly tasksPerSecond: number;
  /** The same SDK calls per task, issued directly on the same emulator. */
  readonly rawSdkTasksPerSecond: number;
}

export interface ThroughputSummary {
  /** The median round's figures, so `tasksPerSecond ÷ rawSdkTasksPerSecond` is `efficiency`. */
  readonly tasksPerSecond: number;
  readonly rawSdkTasksPerSecond: number;
  /** The median of `efficiencyRounds` (unrounded ratios, then rounded). */
  readonly efficiency: number;
  /** Every round's efficiency, in the order measured. */
  readonly efficiencyRounds: number[];
  readonly rounds: (ThroughputRound & { readonly efficiency: number })[];
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Which of several measured values is the median (an odd count: the middle one; even: the lower middle). */
export function medianIndex(values: readonly number[]): number {
  if (values.length === 0) throw new Error('no rounds');
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  return order[Math.floor((order.length - 1) / 2)];
}

/** Each round's ratio and the median round. */
export function summarizeRounds(rounds: readonly ThroughputRound[]): ThroughputSummary {
  if (rounds.length === 0) throw new Error('no throughput rounds');
  const ratios = rounds.map((r) => r.tasksPerSecond / r.rawSdkTasksPerSecond);
  const middle = medianIndex(ratios);
  const median = rounds[middle];
  return {
    tasksPerSecond: round(median.tasksPerSecond, 1),
    rawSdkTasksPerSecond: round(median.rawSdkTasksPerSecond, 1),
    efficiency: round(ratios[middle], 2),
    efficiencyRounds: ratios.map((r) => round(r, 2)),
    rounds: rounds.map((r, i) => ({
      tasksPerSecond: round(r.tasksPerSecond, 1),
      rawSdkTasksPerSecond: round(r.rawSdkTasksPerSecond, 1),
      efficiency: round(ratios[i], 2),
    })),
  };
}
