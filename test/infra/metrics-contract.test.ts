/**
 * The metrics contract: every alarm and dashboard widget in the template that reads a Sluice
 * metric reads a metric name and dimension set the functions really emit. What is emitted is
 * taken from the EMF lines the real telemetry code prints, not from the table it follows.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS, type MetricName } from '#core/metrics.ts';
import { SluiceStack } from '../../lib/sluice-stack.ts';

/** "Name{dim,dim}" for each metric an EMF line publishes (service included, names sorted). */
const key = (name: string, dimensions: readonly string[]) => `${name}{${[...dimensions].sort().join(',')}}`;

let emitted: Set<string>;
let template: Template;
const previous = process.env.POWERTOOLS_METRICS_DISABLED;

beforeAll(async () => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const { emit } = await import('#handlers/telemetry.ts');
  try {
    for (const name of Object.keys(METRICS) as MetricName[]) emit(name, { lane: 'normal', type: 'echo', reason: 'worker-lost' });
  } finally {
    write.mockRestore();
  }
  emitted = new Set();
  for (const line of lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"_aws"'))) {
    const emf = JSON.parse(line) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    };
    for (const directive of emf._aws.CloudWatchMetrics) {
      expect(directive.Namespace).toBe('Sluice');
      for (const metric of directive.Metrics) for (const set of directive.Dimensions) emitted.add(key(metric.Name, set));
    }
  }
  template = Template.fromStack(new SluiceStack(new App(), 'Contract', { scheduler: { longJobs: false, dashboard: true } }));
});
afterAll(() => {
  if (previous !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = previous;
});

describe('the metrics contract', () => {
  it('the telemetry code publishes every metric of the table under each of its dimension sets', () => {
    for (const [name, definition] of Object.entries(METRICS)) {
      for (const set of definition.dimensionSets) expect(emitted).toContain(key(name, ['service', ...set]));
    }
    // The sweeper-recoveries alarm reads the service-wide total: it must exist.
    expect(emitted).toContain('Recovered{service}');
  });

  it('every alarm on a Sluice metric reads one the code emits', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const read = alarms
      .filter((p) => p.Namespace === 'Sluice')
      .map((p) =>
        key(
          p.MetricName,
          (p.Dimensions ?? []).map((d: { Name: string }) => d.Name),
        ),
      );
    expect(read.length).toBeGreaterThan(0);
    for (const metric of read) expect(emitted).toContain(metric);
  });

  it('every dashboard widget on a Sluice metric reads one the code emits', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('')) as {
      widgets: { properties: { metrics?: unknown[][] } }[];
    };
    const read: string[] = [];
    for (const widget of body.widgets) {
      for (const row of widget.properties.metrics ?? []) {
        if (row[0] === 'Sluice') {
          const dims = row.slice(2).filter((x) => typeof x === 'string');
          read.push(key(String(row[1]), dims.filter((_, i) => i % 2 === 0) as string[]));
        }
        const expression = (row[0] as { expression?: string })?.expression;
        for (const m of expression?.matchAll(/\{Sluice,([^}]*)\} MetricName="(\w+)"/g) ?? []) read.push(key(m[2], m[1].split(',')));
      }
    }
    expect(read.length).toBeGreaterThan(0);
    for (const metric of read) expect(emitted).toContain(metric);
  });
});
