/** The idle-cost model counts what the synthesized template declares (the bench prices it). */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LANES } from '#core/lanes.ts';
import { SETTINGS } from '#core/settings.ts';
import { idleCost } from '../../bin/bench/idle.ts';
import { PRICES } from '../../bin/bench/prices.ts';
import { SluiceStack } from '../../lib/sluice-stack.ts';

const pass = { rru: 2, wru: 0, sqsRequests: 4 };
const backstop = { rru: 15, wru: 3, sqsRequests: 5, everyPasses: SETTINGS.backstopEveryPasses.default };

describe('the idle cost', () => {
  it('is counted from the template: alarms by metric, keys, dashboards, polling mappings, the sweeper schedule', () => {
    const resources = Template.fromStack(new SluiceStack(new App(), 'Idle')).toJSON().Resources;
    const { breakdown, usdPerMonth } = idleCost(resources, pass, backstop);
    const line = (item: string) => breakdown.find((l) => l.item === item);
    // What the sweeper finds, the sweeper failing, worker errors, the critical lane's age.
    expect(line('CloudWatch alarms')).toMatchObject({ count: 4, usdPerMonth: 0.4 });
    expect(line('KMS customer-managed keys')).toMatchObject({ count: 1, usdPerMonth: 1 });
    expect(line('CloudWatch dashboards')).toMatchObject({ count: 0, usdPerMonth: 0 });
    // Only the lanes' mappings poll (the sweeper drains the DLQs); each sets a maximum
    // concurrency (5 idle pollers each): 25 pollers × 3 polls a minute × $0.40 per million.
    const polling = line('idle polling of SQS event source mappings');
    expect(polling?.count).toBe(LANES.length);
    expect(polling?.basis).toMatch(/^25 pollers/);
    // With the dashboard asked for, it is counted.
    const withDashboard = Template.fromStack(new SluiceStack(new App(), 'IdleDash', { scheduler: { dashboard: true } })).toJSON().Resources;
    expect(idleCost(withDashboard, pass, backstop).breakdown.find((l) => l.item === 'CloudWatch dashboards')).toMatchObject({
      count: 1,
      usdPerMonth: 3,
    });
    expect(line('sweeper invocations')?.count).toBe(43_830);
    // The backstops every fifth pass, with the two failure queues the template gives the sweeper.
    const backstops = line('sweeper backstops (reconciliation, DLQs, failure queues)');
    expect(backstops?.count).toBe(8766);
    expect(backstops?.basis).toContain('2 failure-queue looks');
    const perBackstop = 15 * PRICES.dynamodbPerRru + 3 * PRICES.dynamodbPerWru + (5 + 2) * PRICES.sqsPerRequest;
    expect(backstops?.usdPerMonth).toBeCloseTo(8766 * perBackstop, 2);
    expect(usdPerMonth).toBeCloseTo(
      breakdown.reduce((n, l) => n + l.usdPerMonth, 0),
      2,
    );
  });
});
