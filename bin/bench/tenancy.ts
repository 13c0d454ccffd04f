/**
 * Tenants and limits, measured: a small tenant's wait behind a big tenant's backlog (fair share),
 * a concurrency limit's observed maximum and what a limited task costs in requests, and a rate
 * limit's most starts in any window.
 */
import { drainMeter } from './meter.ts';
import { medianIndex } from './rounds.ts';

type Task = { id: string; status: string; createdAt: number; startedAt?: number; finishedAt?: number };

export interface TenancyDeps {
  url: string;
  /** Read tasks with the harness's own client (not metered). */
  readTasks: (ids: readonly string[]) => Promise<Task[]>;
  /** Requests the worker environments metered since the last call. */
  drainWorkerMeter: () => number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]) : 0;
};

async function post<T>(url: string, path: string, body: unknown, method = 'POST'): Promise<T> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function submit(url: string, n: number, task: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const { items } = await post<{ items: { id: string }[] }>(url, '/tasks/batch', {
      tasks: Array.from({ length: Math.min(100, n - i) }, () => task),
    });
    ids.push(...items.map((t) => t.id));
  }
  return ids;
}

/** Polls the unfinished tasks (in batch reads, four times a second) until every one is finished. */
async function finished(deps: TenancyDeps, ids: string[], timeoutMs = 900_000): Promise<Task[]> {
  const done = new Map<string, Task>();
  const deadline = Date.now() + timeoutMs;
  while (done.size < ids.length) {
    if (Date.now() > deadline) throw new Error(`${ids.length - done.size} tasks did not finish`);
    for (const task of await deps.readTasks(ids.filter((id) => !done.has(id)))) {
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(task.status)) done.set(task.id, task);
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, 250));
  }
  return ids.map((id) => done.get(id) as Task);
}

/** The gap between a small tenant's posts: prime to the stream poller's 250 ms. */
const SMALL_TENANT_GAP_MS = 137;

/**
 * Tasks posted one at a time, a fixed gap apart: a small tenant's work (a password-reset email)
 * arrives a task at a time, and a gap prime to the stream poller's 250 ms spreads the tasks over
 * every point of its cycle and the dispatcher's. Posted as one batch, all of them share one such
 * point, and the idle wait — the ratio's divisor — is one draw of it (82–385 ms in runs here).
 */
async function submitEach(url: string, n: number, task: Record<string, unknown>, gapMs = SMALL_TENANT_GAP_MS): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const next = Date.now() + gapMs;
    ids.push((await post<{ id: string }>(url, '/tasks', task)).id);
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  return ids;
}

const waits = (tasks: Task[]) => tasks.map((t) => (t.startedAt ?? 0) - t.createdAt);

export async function fairnessProfile(deps: TenancyDeps, backlog: number, small = 20) {
  // B alone first: its tasks' wait on an idle system.
  const idle = await finished(deps, await submitEach(deps.url, small, { type: 'echo', priority: 'low', tenant: 'b-idle' }));
  const began = Date.now();
  const big = await submit(deps.url, backlog, { type: 'echo', priority: 'low', tenant: 'a' });
  const smallTasks = await finished(deps, await submitEach(deps.url, small, { type: 'echo', priority: 'low', tenant: 'b' }));
  const bigTasks = await finished(deps, big);
  const bigEnd = Math.max(...bigTasks.map((t) => t.finishedAt ?? 0));
  return {
    backlog,
    smallTenantTasks: small,
    smallTenantWaitP50Ms: percentile(waits(smallTasks), 50),
    smallTenantWaitP99Ms: percentile(waits(smallTasks), 99),
    idleWaitP50Ms: percentile(waits(idle), 50),
    bigTenantTasksPerSecond: Math.round((backlog / Math.max(1, (bigEnd - began) / 1000)) * 10) / 10,
  };
}

export type FairnessRound = Awaited<ReturnType<typeof fairnessProfile>>;

/**
 * Fairness from several rounds of the same scenario, each on a fresh runtime: where B's inserts
 * land in A's cycle of releases decides one round's figure (0.8–2.5 s behind the same backlog in
 * runs here), so the bench reports every round and takes the median round — by B's wait over the
 * idle wait — as the figure, as it does for efficiency.
 */
export function summarizeFairness(rounds: readonly FairnessRound[]) {
  if (rounds.length === 0) throw new Error('no fairness rounds');
  const ratios = rounds.map((r) => r.smallTenantWaitP50Ms / Math.max(1, r.idleWaitP50Ms));
  const middle = medianIndex(ratios);
  const shown = (ratio: number) => Math.round(ratio * 100) / 100;
  return { ...rounds[middle], ratio: shown(ratios[middle]), rounds: rounds.map((r, i) => ({ ...r, ratio: shown(ratios[i]) })) };
}

/** The most intervals [start, end) open at once (an end before a start at the same instant). */
export function mostAtOnce(intervals: readonly (readonly [number, number])[]): number {
  const edges = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}

const maxOverlap = (tasks: Task[]): number => mostAtOnce(tasks.map((t) => [t.startedAt ?? 0, t.finishedAt ?? 0]));

export async function limitsProfile(deps: TenancyDeps, tasks: number) {
  const count = () => drainMeter().length + deps.drainWorkerMeter();
  // What an unlimited task costs in requests, then the same tasks under a limit of 1.
  count();
  await finished(deps, await submit(deps.url, tasks, { type: 'echo', priority: 'normal' }));
  const plain = count() / tasks;
  await post(deps.url, '/limits/key/bench-one', { concurrency: 1 }, 'PUT');
  const limited = await finished(deps, await submit(deps.url, tasks, { type: 'echo', priority: 'normal', concurrencyKey: 'bench-one' }));
  const withLimit = count() / tasks;
  const rate = { limit: 5, periodSeconds: 4 };
  await post(deps.url, '/limits/key/bench-rate', { rate }, 'PUT');
  const rated = await finished(deps, await submit(deps.url, 20, { type: 'echo', priority: 'normal', concurrencyKey: 'bench-rate' }));
  const starts = rated.map((t) => t.startedAt ?? 0).sort((a, b) => a - b);
  const maxStartsPerWindow = Math.max(...starts.map((s) => starts.filter((t) => t >= s && t < s + rate.periodSeconds * 1000).length));
  return {
    concurrencyLimit: 1,
    limitedTasks: tasks,
    maxConcurrentObserved: maxOverlap(limited),
    rateLimit: rate,
    maxStartsPerWindow,
    requestsPerUnlimitedTask: Math.round(plain * 10) / 10,
    requestsPerLimitedTask: Math.round(withLimit * 10) / 10,
    extraRequestsPerLimitedTask: Math.round((withLimit - plain) * 10) / 10,
  };
}
