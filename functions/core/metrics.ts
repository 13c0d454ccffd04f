/**
 * Every metric Sluice emits, defined once: its name, its unit, and the dimension sets it is
 * published under (each set is a separate CloudWatch metric; `service` is always added). The
 * functions emit from this table, the stack's alarms and dashboard read from it, and a test checks
 * the two against each other through the EMF lines the real telemetry code prints.
 */
export interface MetricDefinition {
  readonly unit: 'Count' | 'Milliseconds';
  /** Dimension sets besides `service`; `[]` is the service-wide total. */
  readonly dimensionSets: readonly (readonly string[])[];
}

const byTask = [['lane', 'type']] as const;
/** Also per lane alone: GET /stats reads these (a percentile cannot be summed across types). */
const byTaskAndLane = [['lane', 'type'], ['lane']] as const;

export const METRICS = {
  Submitted: { unit: 'Count', dimensionSets: byTaskAndLane },
  Started: { unit: 'Count', dimensionSets: byTaskAndLane },
  Succeeded: { unit: 'Count', dimensionSets: byTaskAndLane },
  Failed: { unit: 'Count', dimensionSets: byTaskAndLane },
  Retried: { unit: 'Count', dimensionSets: byTask },
  Cancelled: { unit: 'Count', dimensionSets: byTask },
  Paused: { unit: 'Count', dimensionSets: byTask },
  QueueWait: { unit: 'Milliseconds', dimensionSets: byTask },
  RunDuration: { unit: 'Milliseconds', dimensionSets: byTaskAndLane },
  /** A lost attempt recovered (by reason, and in total: the alarm reads the total). */
  Recovered: { unit: 'Count', dimensionSets: [['reason'], []] },
  /** A task repaired by the reconciliation. */
  Reconciled: { unit: 'Count', dimensionSets: [['reason'], []] },
  /** A message the sweeper drained from a lane's DLQ, handled or not, by lane, and in total. */
  DeadLettered: { unit: 'Count', dimensionSets: [['lane'], []] },
  /** What the sweeper found that needs someone (#core/attention.ts), by reason, and in total: the alarm reads the total. */
  Attention: { unit: 'Count', dimensionSets: [['reason'], []] },
  Promoted: { unit: 'Count', dimensionSets: [[]] },
  /** Schedule ticks delivered to the fire function (triggers included), and what each did. */
  ScheduleFired: { unit: 'Count', dimensionSets: [[]] },
  ScheduleCreated: { unit: 'Count', dimensionSets: [[]] },
  ScheduleSkipped: { unit: 'Count', dimensionSets: [[]] },
  /** Scheduler schedules the repair pass created, updated or deleted. */
  ScheduleRepaired: { unit: 'Count', dimensionSets: [[]] },
  Aged: { unit: 'Count', dimensionSets: [[]] },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMESPACE = 'Sluice';
/**
 * The `service` dimension of every metric: the deployment's name (the stack sets it to the stack
 * name on every function), so two deployments in one account and region keep their metrics,
 * alarms and stats apart. Without the variable (tests, a bare function) it is `sluice`.
 */
export const METRIC_SERVICE_ENV = 'SLUICE_METRIC_SERVICE';
export const DEFAULT_METRIC_SERVICE = 'sluice';
export const metricService = (): string => process.env[METRIC_SERVICE_ENV] || DEFAULT_METRIC_SERVICE;

/** What a status after an attempt means, as a metric name. */
export const OUTCOME_METRIC: Partial<Record<string, MetricName>> = {
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  PAUSED: 'Paused',
  QUEUED: 'Retried',
  SCHEDULED: 'Retried',
};
