/**
 * The deploy rehearsal (`npm run deploy:rehearse`) in the suite: `cdk bootstrap` and `cdk deploy`
 * into an emulator of its own, then every declared resource checked through its service's API.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the deploy rehearsal', () => {
  it('deploys the stack offline and finds every checkable resource as the template declares it', () => {
    const { AWS_ENDPOINT_URL: _shared, ...env } = process.env;
    const run = spawnSync('npx', ['tsx', 'bin/deploy-rehearsal.ts'], { env, encoding: 'utf8', timeout: 300_000 });
    const lines = run.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(run.status).toBe(0);
    const summary = lines.find((l) => /checks passed/.test(l)) ?? '';
    expect(Number(summary.match(/^(\d+) checks passed/)?.[1])).toBeGreaterThan(100);
    // What the emulator cannot show is said, not counted as checked.
    expect(lines.some((l) => l.startsWith('n/a') && l.includes('AWS::CloudWatch::Alarm'))).toBe(true);
    for (const what of [
      'VisibilityTimeout 900',
      'MessageRetentionPeriod 1209600',
      'ReportBatchItemFailures',
      'retention 30 days',
      'policy lets CloudWatch',
    ]) {
      expect(
        lines.some((l) => l.startsWith('ok') && l.includes(what)),
        what,
      ).toBe(true);
    }
  }, 320_000);
});
