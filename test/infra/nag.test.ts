import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { SluiceStack } from '../../lib/sluice-stack.ts';

/** Synthesize with the AwsSolutions and Serverless packs; returns every unacknowledged finding. */
function nag(build: (app: App) => void): string[] {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-nag-'));
  const app = new App({ outdir });
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  const findings: string[] = [];
  try {
    app.synth();
  } catch (error) {
    findings.push(
      ...String(error)
        .split('\n')
        .filter((line) => /^(ERROR|WARN)/.test(line)),
    );
  }
  // Warnings do not stop a synth: read the report's unacknowledged violations (any severity).
  for (const file of readdirSync(outdir).filter((f) => f.includes('validation-report'))) {
    const report = JSON.parse(readFileSync(join(outdir, file), 'utf8')) as {
      pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
    };
    for (const plugin of report.pluginReports) {
      for (const v of plugin.violations) findings.push(`${plugin.pluginName} ${v.severity} ${v.ruleName}`);
    }
  }
  return [...new Set(findings)];
}

describe('cdk-nag', () => {
  it('finds no unacknowledged errors or warnings in the stack (AwsSolutions and Serverless packs)', () => {
    const findings = nag((app) => new SluiceStack(app, 'Nagged', { env: { account: '123456789012', region: 'us-east-1' } }));
    expect(findings).toEqual([]);
  });

  it('also holds for an environment-agnostic stack', () => {
    expect(nag((app) => new SluiceStack(app, 'Agnostic'))).toEqual([]);
  });

  it('does report a violation (the check is live)', () => {
    const findings = nag((app) => {
      const stack = new Stack(app, 'Bad');
      new Queue(stack, 'Plain', { enforceSSL: false });
    });
    expect(findings.join('\n')).toMatch(/SQS|queue/i);
  });
});
