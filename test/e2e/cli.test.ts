import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { startRuntime } from '../support/runtime.ts';

let runtime: LocalRuntime;
beforeAll(async () => {
  ({ runtime } = await startRuntime('cli'));
});
afterAll(() => runtime.stop());

function sluice(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/sluice.js', ...args, `--url=${runtime.url}`], { env: { ...process.env, SLUICE_URL: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the sluice CLI', () => {
  it('submits and watches a task to SUCCEEDED, drawing its progress, exit 0', async () => {
    const { code, stdout } = await sluice('submit', '--type', 'sleep', '--payload', '{"ms":1500,"steps":3}', '--watch');
    expect(code).toBe(0);
    expect(stdout).toMatch(/submitted \w+/);
    expect(stdout).toMatch(/\[█+\] 100% SUCCEEDED/);
    expect(stdout).toContain('"steps":3');
  });

  it('exits 1 when the watched task fails, and says why', async () => {
    const { code, stdout } = await sluice(
      'submit',
      '--type',
      'fail',
      '--payload',
      '{"times":3,"message":"nope"}',
      '--max-attempts',
      '1',
      '--watch',
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(/FAILED[\s\S]*error: task-error: nope/);
  });

  it('prints JSON with --json, and controls a task', async () => {
    const submitted = await sluice('submit', '--type', 'echo', '--delay', '300', '--json');
    const task = JSON.parse(submitted.stdout);
    expect(task.status).toBe('SCHEDULED');
    const priority = await sluice('priority', task.id, 'critical', '--json');
    expect(JSON.parse(priority.stdout).priority).toBe('critical');
    const cancelled = await sluice('cancel', task.id, '--json');
    expect(JSON.parse(cancelled.stdout).status).toBe('CANCELLED');
    const events = await sluice('events', task.id);
    expect(events.stdout).toMatch(/SCHEDULED → CANCELLED\s+cancelled/);
  });

  it('explains refusals with exit 3 and usage mistakes with exit 2', async () => {
    const missing = await sluice('get', '01m86ghs3b2k721tmtwhexw');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('404 task-not-found');
    const bad = await sluice('submit', '--type', 'nope');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('unknown-type');
    expect((await sluice('submit')).code).toBe(2);
    expect((await sluice('submit', '--type', 'echo', '--payload', '{nope')).code).toBe(2);
    expect((await sluice('frobnicate')).code).toBe(2);
  });

  it('creates, shows, triggers, pauses and removes a schedule', async () => {
    const created = await sluice(
      'schedule',
      'create',
      'nightly',
      '--cron',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--type',
      'echo',
      '--payload',
      '{"n":1}',
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^nightly\s+ACTIVE\s+30 2 \* \* \*\s+Europe\/Berlin\s+echo/);
    expect(created.stdout).toContain('runs on cron(30 2 * * ? *) (Europe/Berlin), overlap skip');
    expect(created.stdout.match(/^ {2}next \d{4}-\d\d-\d\dT02:30:00\+0[12]:00$/gm)).toHaveLength(5);
    expect((await sluice('schedule', 'ls')).stdout).toMatch(/^nightly\s+ACTIVE/m);
    const triggered = await sluice('schedule', 'trigger', 'nightly');
    expect(triggered.stdout).toMatch(/^\w{23}\s+QUEUED\s+normal\s+echo/);
    const runs = await sluice('schedule', 'runs', 'nightly');
    expect(runs.stdout).toMatch(/created trigger \w{23}/);
    expect((await sluice('ls', '--schedule', 'nightly')).stdout.trim().split('\n')).toHaveLength(1);
    expect((await sluice('schedule', 'pause', 'nightly')).stdout).toMatch(/^nightly\s+PAUSED/);
    expect((await sluice('schedule', 'resume', 'nightly')).stdout).toMatch(/^nightly\s+ACTIVE/);
    expect((await sluice('schedule', 'rm', 'nightly')).stdout).toContain('deleted nightly');
    const gone = await sluice('schedule', 'get', 'nightly');
    expect([gone.code, gone.stderr]).toEqual([3, expect.stringContaining('404 schedule-not-found')]);
    expect((await sluice('schedule', 'create', 'x', '--every', '5m')).code).toBe(2);
    const refused = await sluice('schedule', 'create', 'x', '--cron', '0 0 L * *', '--type', 'echo');
    expect([refused.code, refused.stderr]).toEqual([3, expect.stringContaining('invalid-schedule')]);
  });

  it('sets, lists and removes limits, and submits and lists a tenant’s tasks', async () => {
    const set = await sluice('limits', 'set', 'tenant', 'acme', '--concurrency', '5', '--rate', '100/60s');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^tenant acme\s+concurrency 5\s+rate 100\/60s\s+running 0, started 0 this period, waiting 0/);
    expect((await sluice('limits', 'ls')).stdout).toMatch(/^tenant acme/m);
    const submitted = await sluice('submit', '--type', 'echo', '--tenant', 'acme', '--key', 'partner-x', '--json');
    const task = JSON.parse(submitted.stdout) as { id: string; tenant: string; concurrencyKey: string };
    expect(task).toMatchObject({ tenant: 'acme', concurrencyKey: 'partner-x' });
    expect((await sluice('ls', '--tenant', 'acme')).stdout).toContain(task.id);
    expect((await sluice('ls', '--tenant', 'nobody')).stdout.trim()).toBe('');
    expect((await sluice('limits', 'rm', 'tenant', 'acme')).stdout).toContain('removed');
    const gone = await sluice('limits', 'get', 'tenant', 'acme');
    expect([gone.code, gone.stderr]).toEqual([3, expect.stringContaining('404 limit-not-found')]);
    expect((await sluice('limits', 'set', 'tenant', 'acme', '--rate', 'fast')).code).toBe(2);
    expect((await sluice('limits', 'set', 'tenant', 'acme')).code).toBe(2);
  });

  it('shows the lanes, and counts then cancels a filter’s tasks in bulk', async () => {
    const lanes = await sluice('lanes');
    expect(lanes.code).toBe(0);
    expect(lanes.stdout).toMatch(/^low\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+s\s+5 × 10\s+consuming$/m);
    const paused = await sluice('lanes', 'pause', 'normal');
    expect([paused.code, paused.stdout.trim()]).toEqual([0, 'normal: paused (local)']);
    expect((await sluice('lanes')).stdout).toMatch(/^normal\s.*paused by local at \d{4}-/m);
    expect((await sluice('lanes', 'resume', 'normal')).stdout.trim()).toBe('normal: consuming (local)');
    const unknown = await sluice('lanes', 'pause', 'nope');
    expect([unknown.code, unknown.stderr]).toEqual([3, expect.stringContaining('404 lane-not-found')]);
    expect((await sluice('lanes', 'explode', 'low')).code).toBe(2);
    const stats = JSON.parse((await sluice('stats', '--minutes', '5', '--json')).stdout);
    expect(stats.minutes).toHaveLength(5);
    expect(stats.lanes.map((l: { name: string }) => l.name)).toEqual(['critical', 'high', 'normal', 'low', 'long']);
    expect((await sluice('stats', '--minutes', '0')).code).toBe(3);
    const later = await Promise.all(
      [1, 2].map(async () =>
        JSON.parse((await sluice('submit', '--type', 'echo', '--delay', '600', '--tenant', 'cli-bulk', '--json')).stdout),
      ),
    );
    const dry = await sluice('bulk', 'cancel', '--tenant', 'cli-bulk', '--status', 'SCHEDULED', '--dry-run');
    expect([dry.code, dry.stdout.trim()]).toEqual([0, '2 tasks match']);
    const bulk = await sluice('bulk', 'cancel', '--tenant', 'cli-bulk', '--status', 'SCHEDULED', '--watch');
    expect(bulk.code).toBe(0);
    for (const t of later) expect(JSON.parse((await sluice('get', t.id, '--json')).stdout).status).toBe('CANCELLED');
    expect((await sluice('bulk', 'explode', '--dry-run')).code).toBe(3);
  });

  it('serves the console on localhost and forwards its API calls to the API at --url', async () => {
    const child = spawn(process.execPath, ['bin/sluice.js', 'console', '--port', '0', `--url=${runtime.url}`], {
      env: { ...process.env, SLUICE_URL: '' },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const found = /(http:\/\/127\.0\.0\.1:\d+)\/console\//.exec(out);
          if (found) resolve(found[1]);
        });
        child.on('exit', (code) => reject(new Error(`sluice console exited ${code}`)));
      });
      const page = await fetch(`${url}/console/`);
      expect([page.status, await page.text()]).toEqual([200, expect.stringContaining('<div id="app">')]);
      expect((await fetch(`${url}/console/app.js`)).headers.get('content-type')).toContain('javascript');
      const submitted = await fetch(`${url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'echo', payload: { via: 'console' } }),
      });
      expect(submitted.status).toBe(201);
      const { id } = (await submitted.json()) as { id: string };
      const read = await fetch(`${url}/tasks/${id}`);
      expect([read.status, ((await read.json()) as { payload: unknown }).payload]).toEqual([200, { via: 'console' }]);
      expect((await fetch(`${url}/tasks/nope`)).status).toBe(404);
      expect((await fetch(`${url}/tasks`, { method: 'POST', body: '{not json' })).status).toBe(400);
    } finally {
      child.kill();
    }
  });
});
