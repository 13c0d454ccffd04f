/**
 * The code of a local process that stands for an AWS one — a worker's execution environment, a
 * Fargate container — as one file, bundled with esbuild as the stack bundles the deployed code
 * (lib/bundling.ts). A process that loads one bundle starts on about 0.2 s of CPU, where
 * compiling the same modules through tsx took 1.1 s: on a 2-core machine that starts processes by
 * the dozen (a burst scaling the lanes out, the chaos test's kills), those starts were what made
 * recoveries and first starts wait.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../lib/bundling.ts';

export type BundleSpec =
  /** A function's environment: the IPC loop of function-child.ts serving the handler. */
  | { kind: 'function'; module: string; exportName?: string; preload?: readonly string[] }
  /** A container: its entry point run as the main module. */
  | { kind: 'container'; entry: string; preload?: readonly string[] };

const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * Each process writes its bundles under a directory named by its pid, removed on exit; and since
 * a process ended by a signal (vitest ends its workers so) never sees its exit, each one also
 * removes the directories of processes no longer alive whenever it builds.
 */
const ROOT = join(tmpdir(), 'sluice-bundles');
let outDir: string | undefined;
const built = new Map<string, Promise<string>>();

/** The bundle's path, built once per process for each spec (every lane's workers share one). */
export function processBundle(spec: BundleSpec): Promise<string> {
  const key = JSON.stringify(spec);
  let bundle = built.get(key);
  if (!bundle) {
    bundle = buildBundle(spec, built.size);
    built.set(key, bundle);
  }
  return bundle;
}

/** What the bundle runs, in order: the preloaded modules (extra task types) first, as `--import` ran them. */
function entryContents(spec: BundleSpec): string {
  const imports = (spec.preload ?? []).map((m) => `import ${JSON.stringify(m)};`);
  if (spec.kind === 'container') return [...imports, `import ${JSON.stringify(spec.entry)};`].join('\n');
  return [
    `import { serve } from ${JSON.stringify(join(HERE, 'function-child.ts'))};`,
    ...imports,
    `import * as handlerModule from ${JSON.stringify(spec.module)};`,
    `serve(handlerModule, ${JSON.stringify(spec.exportName ?? 'handler')});`,
  ].join('\n');
}

async function buildBundle(spec: BundleSpec, n: number): Promise<string> {
  removeDeadProcessesBundles();
  if (!outDir) {
    const dir = join(ROOT, String(process.pid));
    mkdirSync(dir, { recursive: true });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    outDir = dir;
  }
  const outfile = join(outDir, `${spec.kind}-${n}.mjs`);
  await build({
    stdin: { contents: entryContents(spec), resolveDir: HERE, sourcefile: `${spec.kind}.ts`, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: LAMBDA_BUNDLE.format,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    banner: { js: LAMBDA_BUNDLE.banner },
    alias: LAMBDA_BUNDLE.alias,
    // This machine's Node, not Lambda's; unminified, so a task's stack trace names its code.
    target: `node${process.versions.node}`,
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

function removeDeadProcessesBundles(): void {
  let names: string[] = [];
  try {
    names = readdirSync(ROOT);
  } catch {
    return; // none yet
  }
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) rmSync(join(ROOT, name), { recursive: true, force: true });
  }
}

/** Signal 0 checks that a process exists without touching it (EPERM: it exists, not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
