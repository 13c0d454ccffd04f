/**
 * `npm start`'s entry point as a user runs it: it boots its own emulator, serves the API, runs a
 * task, and a Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends it) stops
 * everything it started, quietly. Its own embedded emulator whatever endpoint the suite runs
 * against: that is what `npm start` does on a fresh clone, and it leaves nothing anywhere else.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive } from '../../bin/local/process-bundle.ts';
import { eventually } from '../support/factories.ts';
import { apiClient } from '../support/runtime.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
});

describe('npm start', () => {
  it('serves the API on its own emulator, and Ctrl-C stops everything it started without errors', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
    delete env.AWS_ENDPOINT_URL;
    delete env.SLUICE_LOCAL_MAPPINGS;
    // Its own process group, as a terminal's foreground job is: the SIGINT below reaches all of it.
    const started = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], { cwd: root, env, detached: true });
    child = started;
    let output = '';
    started.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    started.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    await eventually(
      async () => output,
      (text) => /Ctrl-C to stop/.test(text),
      90_000,
    );
    const url = /Sluice is running at (\S+)/.exec(output)?.[1];
    const emulatorPid = Number(/moto on \S+ \(pid (\d+)\)/.exec(output)?.[1]);
    expect(url).toBeDefined();
    expect(processAlive(emulatorPid)).toBe(true);
    const api = apiClient(String(url));
    const task = await api.submit({ type: 'echo', payload: { hi: 1 } });
    expect(await api.waitFor(task.id, ['SUCCEEDED'])).toMatchObject({ result: { hi: 1 } });
    const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
    process.kill(-Number(started.pid), 'SIGINT');
    expect(await exited).toBe(0);
    await eventually(
      async () => processAlive(emulatorPid),
      (isAlive) => !isAlive,
      10_000,
    );
    // The emulator outlived the functions that talk to it, so none logged a refused connection.
    expect(output).toContain('[sluice] stopping…');
    expect(output).not.toMatch(/ECONNREFUSED|Error:/);
  }, 150_000);
});
