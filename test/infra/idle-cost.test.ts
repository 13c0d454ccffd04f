/** The idle-cost model counts what the synthesized template declares (the bench prices it). */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LANES } from '#core/lanes.ts';
import { idleCost } from '../../bin/bench/idle.ts';
import { SluiceStack } from '../../lib/sluice-stack.ts';

describe('the idle cost', () => {
  it('is counted from the template: alarms by metric, keys, dashboards, polling mappings, the sweeper schedule', () => {
    const resources = Template.fromStack(new SluiceStack(new App(), 'Idle')).toJSON().Resources;
    const { breakdown, usdPerMonth } = idleCost(resources, { rru: 10, sqsRequests: 3 });
    const line = (item: string) => breakdown.find((l) => l.item === item);
    // 5 lane DLQs, 5 lane ages, dispatch failures, schedule failures, worker error rate, sweeper recoveries.
    expect(line('CloudWatch alarms')?.count).toBe(14);
    expect(line('CloudWatch alarms')?.usdPerMonth).toBe(1.5); // the error-rate alarm evaluates two metrics
    expect(line('KMS customer-managed keys')).toMatchObject({ count: 1, usdPerMonth: 1 });
    expect(line('CloudWatch dashboards')).toMatchObject({ count: 1, usdPerMonth: 3 });
    // Every lane's mapping and every DLQ's: all set a maximum concurrency, so none can drop to 2 pollers.
    expect(line('idle polling of SQS event source mappings')?.count).toBe(2 * LANES.length);
    expect(line('sweeper invocations')?.count).toBe(43_830);
    expect(usdPerMonth).toBeCloseTo(
      breakdown.reduce((n, l) => n + l.usdPerMonth, 0),
      2,
    );
  });
});
