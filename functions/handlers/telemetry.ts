/**
 * Metrics as CloudWatch embedded metric format (EMF) log lines, through Powertools: no API calls,
 * no extra latency. Namespace `Sluice`; dimensions are lane and task type (both low-cardinality).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { laneFor } from '#core/lanes.ts';
import type { TaskRecord } from '#core/model.ts';

const metrics = new Metrics({ namespace: 'Sluice', serviceName: 'sluice' });

export type Dimensions = Record<string, string>;

export const taskDimensions = (task: Pick<TaskRecord, 'priority' | 'runtime' | 'type'>): Dimensions => ({
  lane: laneFor(task.priority, task.runtime),
  type: task.type,
});

export function count(name: string, dimensions: Dimensions, value = 1): void {
  const metric = metrics.singleMetric();
  metric.addDimensions(dimensions);
  metric.addMetric(name, MetricUnit.Count, value);
}

export function milliseconds(name: string, dimensions: Dimensions, value: number): void {
  const metric = metrics.singleMetric();
  metric.addDimensions(dimensions);
  metric.addMetric(name, MetricUnit.Milliseconds, Math.max(0, value));
}

/** What a status after an attempt means, as a metric name. */
export const OUTCOME_METRIC: Record<string, string> = {
  SUCCEEDED: 'Succeeded',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
  PAUSED: 'Paused',
  QUEUED: 'Retried',
  SCHEDULED: 'Retried',
};
