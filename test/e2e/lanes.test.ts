/**
 * Lanes end to end on the local runtime: pausing a lane disables its event source mapping through
 * the Lambda API, and the runtime's poller obeys it (tasks arrive and wait in the queue, which GET
 * /lanes shows with the oldest message's age); resuming runs them; who did it is shown. GET /stats
 * reads per-minute series from CloudWatch, which the runtime fills from the functions' EMF lines
 * under its own service name.
 */
import { GetEventSourceMappingCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { eventually } from '../support/factories.ts';
import { type Api, startRuntime } from '../support/runtime.ts';

let runtime: LocalRuntime;
let api: Api;

beforeAll(async () => {
  ({ runtime, api } = await startRuntime('lanes'));
});
afterAll(() => runtime?.stop());

type Lane = {
  name: string;
  visible: number;
  inFlight: number;
  paused: boolean;
  mappingState: string;
  changedBy?: string;
  changedAt?: string;
  oldestQueuedAgeSeconds: number;
};
const lane = async (name: string) =>
  (await api.request<{ items: Lane[] }>('GET', '/lanes')).body.items.find((l) => l.name === name) as Lane;

describe('lane pause and resume', () => {
  it('stops consuming a paused lane (its tasks wait in the queue), and runs them on resume', async () => {
    const before = await lane('low');
    expect(before).toMatchObject({ paused: false, mappingState: 'Enabled' });

    const paused = await api.request<Lane>('POST', '/lanes/low/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ name: 'low', paused: true, changedBy: 'local' });
    expect(Date.parse(paused.body.changedAt as string)).toBeGreaterThan(Date.now() - 60_000);
    // The switch is the mapping's own, as on AWS.
    const lambda = new LambdaClient({ region: process.env.AWS_REGION });
    const mapping = await lambda.send(new GetEventSourceMappingCommand({ UUID: runtime.resources.mappings.low }));
    lambda.destroy();
    expect(mapping.State).toBe('Disabled');
    // The poller has seen the switch and its last long poll has ended (AWS: Disabling → Disabled).
    await eventually(
      async () => runtime.consumers.get('low')?.consuming,
      (c) => c === false,
      30_000, // the low lane stops receiving
    );

    const tasks = await Promise.all([1, 2, 3].map((n) => api.submit({ type: 'echo', payload: { n }, priority: 'low' })));
    // All three reach the queue and stay there, visible: nothing receives them.
    const waiting = await eventually(
      () => lane('low'),
      (l) => l.visible === 3 && l.oldestQueuedAgeSeconds >= 1,
      30_000, // the paused lane holds its three tasks
    );
    expect(waiting).toMatchObject({ paused: true, inFlight: 0, changedBy: 'local' });
    for (const t of tasks) expect((await api.get(t.id)).status).toBe('QUEUED');
    // Another lane still runs.
    const high = await api.submit({ type: 'echo', payload: {}, priority: 'high' });
    await api.waitFor(high.id, ['SUCCEEDED']);
    expect((await lane('low')).visible).toBe(3);

    const resumed = await api.request<Lane>('POST', '/lanes/low/resume');
    expect(resumed.body).toMatchObject({ name: 'low', paused: false, changedBy: 'local' });
    for (const t of tasks) await api.waitFor(t.id, ['SUCCEEDED']);
    expect(await lane('low')).toMatchObject({ paused: false, mappingState: 'Enabled', visible: 0 });
  });

  it('answers 404 for a lane that does not exist, and changes nothing', async () => {
    const res = await api.request<{ error: { code: string } }>('POST', '/lanes/nope/pause');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'lane-not-found' } } });
    const lanes = (await api.request<{ items: Lane[] }>('GET', '/lanes')).body.items;
    expect(lanes.every((l) => !l.paused)).toBe(true);
  });
});

type Stats = {
  periodSeconds: number;
  minutes: string[];
  lanes: { name: string; submitted: number[]; started: number[]; succeeded: number[]; failed: number[]; runTimeP50Ms: (number | null)[] }[];
};
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('GET /stats', () => {
  it("counts each lane's submitted, succeeded and failed tasks per minute, with run-time percentiles", async () => {
    const read = async () => (await api.request<Stats>('GET', '/stats?minutes=10')).body;
    const before = await read();
    expect(before.minutes).toHaveLength(10);
    expect(before.periodSeconds).toBe(60);
    const normal = (s: Stats) => s.lanes.find((l) => l.name === 'normal') as Stats['lanes'][number];
    const tasks = await Promise.all([1, 2, 3, 4].map((n) => api.submit({ type: 'echo', payload: { n }, priority: 'normal' })));
    const failing = await api.submit({ type: 'fail', payload: { message: 'planned' }, maxAttempts: 1, priority: 'normal' });
    await Promise.all([...tasks.map((t) => api.waitFor(t.id, ['SUCCEEDED'])), api.waitFor(failing.id, ['FAILED'])]);
    // This runtime's metrics are its own (their service is its name), whoever else shares the
    // emulator's CloudWatch: exactly these tasks are counted in the normal lane.
    expect(sum(normal(before).submitted)).toBe(0);
    const after = await eventually(
      read,
      (s) => sum(normal(s).submitted) === 5 && sum(normal(s).succeeded) === 4 && sum(normal(s).failed) === 1,
      30_000, // the stats count the tasks
    );
    const series = normal(after);
    expect(sum(series.started)).toBe(5);
    for (const values of [series.submitted, series.succeeded, series.failed, series.runTimeP50Ms]) expect(values).toHaveLength(10);
    expect(series.runTimeP50Ms.some((v) => typeof v === 'number' && v >= 0)).toBe(true);
    // The minutes are consecutive and end with the current one.
    const stamps = after.minutes.map(Date.parse);
    expect(stamps.slice(1).every((t, i) => t - stamps[i] === 60_000)).toBe(true);
    expect(Date.now() - (stamps.at(-1) as number)).toBeLessThan(60_000);
  });

  it('refuses a bad window with 400', async () => {
    for (const q of ['minutes=0', 'minutes=abc', 'minutes=100000', 'other=1']) {
      const res = await api.request<{ error: { code: string } }>('GET', `/stats?${q}`);
      expect(res.status, q).toBe(400);
    }
  });
});
