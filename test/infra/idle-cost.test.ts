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
    // Dead letters (one for all DLQs), dead-letter errors, 5 lane ages, dispatch failures, schedule failures, worker error rate, sweeper recoveries.
    expect(line('CloudWatch alarms')?.count).toBe(11);
    expect(line('CloudWatch alarms')?.usdPerMonth).toBe(1.2); // the error-rate alarm evaluates two metrics
    expect(line('KMS customer-managed keys')).toMatchObject({ count: 1, usdPerMonth: 1 });
    expect(line('CloudWatch dashboards')).toMatchObject({ count: 0, usdPerMonth: 0 });
    // Every lane's mapping and every DLQ's; the lanes' set a maximum concurrency (5 idle pollers
    // each), the DLQs' do not (2 each): 35 pollers × 3 polls a minute × $0.40 per million.
    const polling = line('idle polling of SQS event source mappings');
    expect(polling?.count).toBe(2 * LANES.length);
    expect(polling?.basis).toMatch(/^35 pollers/);
    // With the dashboard asked for, it is counted.
    const withDashboard = Template.fromStack(new SluiceStack(new App(), 'IdleDash', { scheduler: { dashboard: true } })).toJSON().Resources;
    expect(idleCost(withDashboard, { rru: 10, sqsRequests: 3 }).breakdown.find((l) => l.item === 'CloudWatch dashboards')).toMatchObject({
      count: 1,
      usdPerMonth: 3,
    });
    expect(line('sweeper invocations')?.count).toBe(43_830);
    expect(usdPerMonth).toBeCloseTo(
      breakdown.reduce((n, l) => n + l.usdPerMonth, 0),
      2,
    );
  });
});
