import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FunctionHost, InvocationError } from '../../bin/local/function-host.ts';
import { processBundle } from '../../bin/local/process-bundle.ts';
import { eventually } from '../support/factories.ts';

const probe = fileURLToPath(new URL('../support/probe-handler.ts', import.meta.url));
const broken = fileURLToPath(new URL('../support/broken-handler.ts', import.meta.url));
type Answer = { pid: number };

const hosts: FunctionHost[] = [];
async function host(module: string, maxEnvironments: number): Promise<FunctionHost> {
  const created = new FunctionHost({ bundle: await processBundle({ kind: 'function', module }), timeoutMs: 20_000, maxEnvironments });
  hosts.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

describe('the local function host', () => {
  it('replaces an environment that crashed at once, so the retry of its batch finds a warm one', async () => {
    const functions = await host(probe, 2);
    await functions.prewarm(1);
    // A long invocation holds one environment; the crash takes the other (the spare), the last the cap allows.
    let longDone = false;
    const long = functions.invoke<Answer>({ ms: 8000 }).finally(() => {
      longDone = true;
    });
    await eventually(
      async () => functions.warm,
      (warm) => warm === 1,
    );
    const crash = await functions.invoke({ crash: true }).catch((error: unknown) => error);
    expect(crash).toMatchObject({ kind: 'crash' });
    // No invocation asked for it, and the long one still holds its own: the pool refilled itself.
    await eventually(
      async () => functions.warm,
      (warm) => warm === 1,
    );
    expect(longDone).toBe(false);
    await long;
  });

  it('gives a waiting invocation the first environment to come free, within its concurrency', async () => {
    const functions = await host(probe, 1);
    await functions.prewarm(1);
    const [first, second] = await Promise.all([functions.invoke<Answer>({ ms: 200 }), functions.invoke<Answer>({})]);
    // One environment at most: the second waited for the first's, not for a process of its own.
    expect(second.pid).toBe(first.pid);
  });

  it('fails the invocation, not the host, when the module cannot load', async () => {
    const functions = await host(broken, 2);
    const failure = await functions.invoke({}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvocationError);
    expect(failure).toMatchObject({ kind: 'crash', message: expect.stringContaining('exited during init') });
  });
});

describe('the local process bundles', () => {
  it('removes the bundles of processes no longer alive and keeps those of live ones', async () => {
    // A process that has exited (its pid unused now, barring reuse within this test) and one alive.
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const root = join(tmpdir(), 'sluice-bundles');
    const dead = join(root, exited.stdout);
    const live = join(root, String(process.ppid));
    for (const dir of [dead, live]) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dead, 'function-0.mjs'), '');
    // A spec of its own, so this process builds (bundles are memoised per spec) and sweeps.
    const bundle = await processBundle({ kind: 'function', module: probe, exportName: 'handler', preload: [] });
    expect(bundle.startsWith(join(root, String(process.pid)))).toBe(true);
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(dead)).toBe(false);
  });
});
