/**
 * Metrics as CloudWatch embedded metric format (EMF) log lines, through Powertools: no API calls,
 * no extra latency. What is emitted, and under which dimension sets, is the table in
 * #core/metrics.ts; one EMF line carries all of a metric's sets.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { laneFor } from '#core/lanes.ts';
import { METRIC_NAMESPACE, METRICS, type MetricName, metricService, OUTCOME_METRIC } from '#core/metrics.ts';
import type { TaskRecord } from '#core/model.ts';
import type { TickOutcome } from '#core/schedule-firing.ts';

/**
 * Powertools warns when one key appears in two dimension sets of a line ("EMF key lane is defined
 * as both…"), which the per-lane sets of #core/metrics.ts do on purpose (same value in both: the
 * output is right). That warning only, dropped; the others stay.
 */
const sharedKeyWarning = /^EMF key "[^"]+" is defined as both a dimension set and dimension set/;
const metricsLogger = {
  debug: console.debug,
  info: console.info,
  warn: (message: string, ...rest: unknown[]) => {
    if (!sharedKeyWarning.test(message)) console.warn(message, ...rest);
  },
  error: console.error,
};
/** One Metrics per service name (a process running several local deployments sees several). */
const byService = new Map<string, Metrics>();
const metrics = (): Metrics => {
  const service = metricService();
  let found = byService.get(service);
  if (!found) {
    found = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: service, logger: metricsLogger });
    byService.set(service, found);
  }
  return found;
};

export type Dimensions = Record<string, string>;

export const taskDimensions = (task: Pick<TaskRecord, 'priority' | 'runtime' | 'type'>): Dimensions => ({
  lane: laneFor(task.priority, task.runtime),
  type: task.type,
});

/**
 * One attempt's metrics, wherever it ran (a Lambda worker or a container): its start and queue
 * wait, then its outcome and run time once it has one.
 */
export function emitAttempt(task: TaskRecord, final: TaskRecord | undefined): void {
  const dimensions = taskDimensions(task);
  emit('Started', dimensions);
  emit('QueueWait', dimensions, (task.startedAt ?? 0) - (task.queuedAt ?? task.createdAt));
  const metric = final && OUTCOME_METRIC[final.status];
  if (final && metric) {
    emit(metric, dimensions);
    emit('RunDuration', dimensions, (final.finishedAt ?? final.updatedAt) - (task.startedAt ?? final.updatedAt));
  }
}

/** Emit one value of a metric; `dimensions` must hold every dimension its sets name. */
export function emit(name: MetricName, dimensions: Dimensions, value = 1): void {
  const definition = METRICS[name];
  const metric = metrics().singleMetric();
  for (const set of definition.dimensionSets) {
    metric.addDimensions(Object.fromEntries(set.map((d) => [d, dimensions[d] ?? 'unknown'])));
  }
  const unit = definition.unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds;
  metric.addMetric(name, unit, definition.unit === 'Milliseconds' ? Math.max(0, value) : value);
}

/** A schedule tick's metrics: fired always; then created (with the task's Submitted) or skipped. */
export function emitTick(outcome: TickOutcome): void {
  emit('ScheduleFired', {});
  if (outcome.kind === 'created') {
    emit('ScheduleCreated', {});
    emit('Submitted', taskDimensions(outcome.task));
  } else if (outcome.kind === 'skipped') emit('ScheduleSkipped', {});
}
