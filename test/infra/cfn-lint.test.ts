/**
 * cfn-lint (pinned, in the project's .venv) on the synthesized templates — with and without long
 * jobs: no error, no warning, no informational finding, except the rules named below.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { CFN_LINT, ensureCfnLint } from '../../bin/emulator.mjs';
import { SluiceStack } from '../../lib/sluice-stack.ts';

/** Every rule the suite ignores, and why: the one place they are written. */
const IGNORED_RULES: Readonly<Record<string, string>> = {
  W3005:
    "CDK's own DependsOn from each function to its service role's policy, next to a GetAtt of the role: harmless, and not Sluice's to change",
  I1022: 'CDK renders every string with tokens as Fn::Join with an empty delimiter; Fn::Sub would be the same value, written differently',
};

const outdir = mkdtempSync(join(tmpdir(), 'sluice-cfn-lint-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function synth(id: string, longJobs: boolean): string {
  const app = new App({ outdir: join(outdir, id) });
  new SluiceStack(app, id, { scheduler: longJobs ? {} : { longJobs: false } });
  return join(app.synth().directory, `${id}.template.json`);
}

describe('cfn-lint', () => {
  it.each([
    ['with long jobs', true],
    ['without long jobs', false],
  ])(
    'finds nothing in the template %s',
    (_, longJobs) => {
      ensureCfnLint({ quiet: true });
      const template = synth(longJobs ? 'Linted' : 'LintedLean', longJobs);
      const out = spawnSync(
        CFN_LINT,
        ['--format', 'json', '--include-checks', 'I', '--ignore-checks', ...Object.keys(IGNORED_RULES), '--', template],
        { encoding: 'utf8' },
      );
      expect(out.error).toBeUndefined();
      const findings = JSON.parse(out.stdout || '[]') as { Rule: { Id: string }; Message: string }[];
      expect(findings.map((f) => `${f.Rule.Id}: ${f.Message}`)).toEqual([]);
      expect(out.status).toBe(0);
    },
    120_000,
  );
});
