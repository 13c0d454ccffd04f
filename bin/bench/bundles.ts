/** Each Lambda bundle as esbuild builds it for deployment (the SluiceFunction settings), and its import time. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../lib/bundling.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const FUNCTIONS = ['intake', 'operations', 'dispatcher', 'worker', 'launcher', 'sweeper', 'schedule-fire', 'schedule-sync'] as const;

export interface BundleReport {
  name: string;
  bytes: number;
  initMs: number;
}

function importMs(file: string): number {
  // A fresh Node process each time: module loading is what a cold start pays.
  const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});console.log(performance.now()-t)`;
  const runs = Array.from({ length: 3 }, () => {
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    return Number(out.stdout.trim().split('\n').pop());
  });
  return runs.sort((a, b) => a - b)[1];
}

export async function measureBundles(): Promise<BundleReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bundles-'));
  const reports: BundleReport[] = [];
  for (const name of FUNCTIONS) {
    const outfile = join(dir, `${name}.mjs`);
    await build({
      entryPoints: [join(root, 'functions', 'handlers', `${name}.ts`)],
      bundle: true,
      platform: 'node',
      format: LAMBDA_BUNDLE.format,
      target: LAMBDA_BUNDLE.target,
      minify: LAMBDA_BUNDLE.minify,
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      alias: LAMBDA_BUNDLE.alias,
      outfile,
      banner: { js: LAMBDA_BUNDLE.banner },
      logLevel: 'silent',
    });
    reports.push({ name, bytes: statSync(outfile).size, initMs: Math.round(importMs(outfile) * 10) / 10 });
  }
  return reports;
}
