/**
 * The chaos soak: a mixed workload on the local runtime while worker environments and containers
 * are SIGKILLed, duplicate deliveries are injected and random controls are applied; then every
 * accepted task is checked — terminal in time, an outcome its type and controls explain, and no
 * two executions of one task overlapping (from the recording task type's log). Used by the suite
 * (a short run) and by `npm run chaos` (the long soak).
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { LocalRuntime } from '../local/runtime.ts';
import { type ExecutionMark, RECORDING_TYPE, TICK_MS } from './recording-task.ts';
import { recoverySegments } from './recoveries.ts';

export interface ChaosOptions {
  tasks: number;
  /** How long the chaos lasts (submissions are spread over its first 60 %). */
  seconds: number;
  seed: number;
  /** The runtime's recovery bound. @default 15 */
  recoverySeconds?: number;
  /**
   * The worker function's timeout, which is also the lanes' visibility timeout: a worker killed
   * before its first visibility change leaves its messages hidden this long. @default 30
   */
  workerTimeoutSeconds?: number;
  /** How long after the chaos every task must be terminal. @default 120 */
  settleSeconds?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  tasks: { submitted: number; accepted: number; byType: Record<string, number> };
  injected: { workerKills: number; containerKills: number; duplicates: number; controls: Record<string, number> };
  outcomes: Record<string, number>;
  /** Tasks not terminal when the settle time ran out. */
  notTerminal: { id: string; status: string; history: string }[];
  /** Tasks whose outcome their type, attempts and controls do not explain. */
  unexplained: { id: string; type: string; status: string; why: string; history?: string }[];
  /** Pairs of executions of one task that overlapped in time. */
  overlaps: { id: string; first: string; second: string; overlapMs: number; marks?: string }[];
  executions: number;
  /**
   * Lambda tasks: from the last sign of life of a killed execution (its last mark, or the start of
   * an attempt that died before its body began) to the start of the next one.
   */
  recoveryMs: Recoveries;
  /**
   * Lambda tasks: from the kill of a worker that held the task's message and never started it to
   * the next start. Such a worker may have died before its first visibility change, which hides
   * the message for the worker timeout (the window the README states): held to `windowBoundMs`.
   */
  heldKillRecoveryMs: Recoveries;
  windowBoundMs: number;
  /**
   * The same for container tasks, which also wait for a free container under the cap and for
   * the container to start (on Fargate, tens of seconds): reported, not held to the bound.
   */
  containerRecoveryMs: Recoveries;
  /** Recoveries written in the tasks' histories, by reason. */
  recoveries: Record<string, number>;
  /** From the end of the chaos until every task was terminal. */
  settledAfterMs: number;
  /**
   * The bound a recovery must meet: the recovery bound. (A worker killed before its first
   * visibility change — before any task of its batch began — leaves its messages hidden for the
   * worker timeout instead; those tasks never began, so they show in the settle time, not here.)
   */
  boundMs: number;
}

export interface Recoveries {
  count: number;
  p50: number;
  max: number;
  slowest: { id: string; ms: number; history: string }[];
}

type Task = {
  id: string;
  type: string;
  status: string;
  priority: string;
  runtime: string;
  version: number;
  attempt: number;
  maxAttempts: number;
  payload: unknown;
  result?: unknown;
  error?: { code: string; message: string };
};
type Event = { at: string; from: string | null; to: string; reason: string; attempt: number; actor: string };

const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
/** History reasons that record a lost attempt being recovered. */
const RECOVERY = /^(worker-lost|lease-expired|dead-letter|poison|cancel-forced|launch-failed|reconcile)/;

/** A history on one line, for reports: `from>to:reason:aN:actor@time` per entry. */
const describe = (events: readonly Event[]) =>
  events.map((e) => `${e.from}>${e.to}:${e.reason}:a${e.attempt}:${e.actor}@${String(e.at).slice(11, 23)}`).join(' ');

/** mulberry32: a small seeded generator, so a run's choices repeat with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Planned {
  body: Record<string, unknown>;
}

function plan(count: number, rand: () => number): Planned[] {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const priority = () => PRIORITIES[int(0, 3)];
  return Array.from({ length: count }, (_, i) => {
    const roll = rand();
    if (roll < 0.25) return { body: { type: 'echo', payload: { i, s: `v${int(0, 1e6)}` }, priority: priority() } };
    if (roll < 0.45) return { body: { type: 'sleep', payload: { ms: int(200, 2000), steps: int(2, 5) }, priority: priority() } };
    if (roll < 0.55) return { body: { type: 'fail', payload: { times: int(0, 2) }, maxAttempts: 4, priority: priority() } };
    if (roll < 0.6) return { body: { type: 'fail', payload: { times: 9 }, maxAttempts: 2, priority: priority() } };
    if (roll < 0.94) return { body: { type: RECORDING_TYPE, payload: { ms: int(300, 3000), steps: int(2, 6) }, priority: priority() } };
    return { body: { type: RECORDING_TYPE, payload: { ms: int(1000, 4000), steps: 4 }, runtime: 'container', timeoutSeconds: 600 } };
  });
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const recoverySeconds = options.recoverySeconds ?? 15;
  const workerTimeoutSeconds = options.workerTimeoutSeconds ?? 30;
  const boundMs = recoverySeconds * 1000;
  const rand = random(options.seed);
  const logFile = join(tmpdir(), `sluice-chaos-${process.pid}-${Date.now()}.jsonl`);
  process.env.SLUICE_CHAOS_LOG = logFile;
  process.env.SLUICE_CANCEL_GRACE_MS ??= '2000';
  const { startLocalRuntime } = await import('../local/runtime.ts');
  const { laneFor } = await import('#core/lanes.ts');
  const runtime: LocalRuntime = await startLocalRuntime({
    port: 0,
    prefix: `chaos-${options.seed}-${Date.now().toString(36)}`,
    quiet: true,
    ephemeral: true,
    recoverySeconds,
    workerTimeoutSeconds,
    sweepIntervalMs: 5000,
    containerCap: 4,
    taskModules: [fileURLToPath(new URL('./recording-task.ts', import.meta.url))],
  });
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${runtime.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  const report: ChaosReport = {
    seed: options.seed,
    tasks: { submitted: options.tasks, accepted: 0, byType: {} },
    injected: { workerKills: 0, containerKills: 0, duplicates: 0, controls: {} },
    outcomes: {},
    notTerminal: [],
    unexplained: [],
    overlaps: [],
    executions: 0,
    recoveryMs: { count: 0, p50: 0, max: 0, slowest: [] },
    heldKillRecoveryMs: { count: 0, p50: 0, max: 0, slowest: [] },
    windowBoundMs: (workerTimeoutSeconds + recoverySeconds) * 1000,
    containerRecoveryMs: { count: 0, p50: 0, max: 0, slowest: [] },
    recoveries: {},
    settledAfterMs: 0,
    boundMs,
  };
  const accepted = new Map<string, { body: Record<string, unknown>; cancelled: boolean }>();
  const holderKills = new Map<string, { at: number; pid: number }[]>();
  const eventsOf = new Map<string, Event[]>();
  const serverErrors: string[] = [];
  try {
    const planned = plan(options.tasks, rand);
    const chaosEnd = Date.now() + options.seconds * 1000;
    const submitUntil = Date.now() + options.seconds * 600;

    // Submissions: batches of up to 20 (some single), spread over the first 60 % of the chaos.
    const submitting = (async () => {
      const chunks: Planned[][] = [];
      for (let i = 0; i < planned.length; ) {
        const size = rand() < 0.2 ? 1 : Math.min(20, planned.length - i);
        chunks.push(planned.slice(i, i + size));
        i += size;
      }
      for (const [n, chunk] of chunks.entries()) {
        const res =
          chunk.length === 1
            ? await api<Task>('POST', '/tasks', chunk[0].body).then((r) => ({ status: r.status, items: r.status === 201 ? [r.body] : [] }))
            : await api<{ items: Task[] }>('POST', '/tasks/batch', { tasks: chunk.map((p) => p.body) }).then((r) => ({
                status: r.status,
                items: r.body.items ?? [],
              }));
        if (res.status >= 500) serverErrors.push(`submit answered ${res.status}`);
        for (const [i, task] of res.items.entries()) accepted.set(task.id, { body: chunk[i].body, cancelled: false });
        const wait = (submitUntil - Date.now()) / Math.max(1, chunks.length - n);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();

    // The chaos: one action every interval, chosen by weight, until the window closes.
    const resumes: Promise<unknown>[] = [];
    const actions = Math.max(40, Math.round(options.tasks / 2));
    const intervalMs = (options.seconds * 1000) / actions;
    // Controls and duplicates aim at recent tasks: those are the ones still queued or running.
    const pickTask = () => {
      const ids = [...accepted.keys()].slice(-40);
      return ids.length ? { id: ids[Math.floor(rand() * ids.length)] } : undefined;
    };
    // A kill drawn while no worker is busy is owed, and done at the next tick that finds one busy:
    // on a loaded machine busy moments are rarer, and the run must hurt as much there.
    let owedKills = 0;
    const killWorker = () => {
      const busy = [...runtime.workers.values()].flatMap((host) => host.busy().map((pid) => ({ host, pid })));
      if (busy.length === 0) return false;
      const { host, pid } = busy[Math.floor(rand() * busy.length)];
      const at = Date.now();
      // The tasks whose messages the killed invocation held (the analysis splits their gaps here).
      for (const record of (host.eventOf(pid) as Partial<SQSEvent> | undefined)?.Records ?? []) {
        const id = (JSON.parse(record.body) as { id?: string }).id;
        if (!id) continue;
        const kills = holderKills.get(id) ?? [];
        kills.push({ at, pid });
        holderKills.set(id, kills);
      }
      process.kill(pid, 'SIGKILL');
      report.injected.workerKills++;
      return true;
    };
    while (Date.now() < chaosEnd) {
      await new Promise((r) => setTimeout(r, intervalMs));
      if (owedKills > 0 && killWorker()) owedKills--;
      const roll = rand();
      if (roll < 0.45) {
        if (!killWorker()) owedKills++;
      } else if (roll < 0.5) {
        const running = runtime.containers.running();
        if (running.length === 0) continue;
        process.kill(running[Math.floor(rand() * running.length)].pid, 'SIGKILL');
        report.injected.containerKills++;
      } else if (roll < 0.7) {
        // A duplicate delivery of the message that queued (or started) the task's current version.
        const pick = pickTask();
        if (!pick) continue;
        const { body: task } = await api<Task>('GET', `/tasks/${pick.id}`);
        if (task.status !== 'QUEUED' && task.status !== 'RUNNING') continue;
        const message =
          task.status === 'QUEUED'
            ? { id: task.id, v: task.version, a: task.attempt + 1 }
            : { id: task.id, v: task.version - 1, a: task.attempt };
        const lane = laneFor(task.priority as (typeof PRIORITIES)[number], task.runtime as 'lambda' | 'container');
        await sqs.send(new SendMessageCommand({ QueueUrl: runtime.resources.queueUrls[lane], MessageBody: JSON.stringify(message) }));
        report.injected.duplicates++;
      } else {
        const pick = pickTask();
        if (!pick) continue;
        const kind = rand();
        const control = kind < 0.4 ? 'pause' : kind < 0.6 ? 'cancel' : 'priority';
        const res =
          control === 'priority'
            ? await api('PATCH', `/tasks/${pick.id}`, { priority: PRIORITIES[Math.floor(rand() * 4)] })
            : await api('POST', `/tasks/${pick.id}/${control}`);
        if (res.status >= 500) serverErrors.push(`${control} answered ${res.status}`);
        if (res.status >= 300) continue;
        report.injected.controls[control] = (report.injected.controls[control] ?? 0) + 1;
        if (control === 'cancel') (accepted.get(pick.id) as { cancelled: boolean }).cancelled = true;
        if (control === 'pause') {
          const delay = 300 + rand() * 2500;
          resumes.push(
            new Promise((r) => setTimeout(r, delay)).then(async () => {
              const resumed = await api('POST', `/tasks/${pick.id}/resume`);
              if (resumed.status >= 500) serverErrors.push(`resume answered ${resumed.status}`);
            }),
          );
        }
      }
    }
    await submitting;
    await Promise.all(resumes);
    const ended = Date.now();
    log(`chaos over: ${JSON.stringify(report.injected)}; waiting for ${accepted.size} tasks to settle`);

    // Settle: every task terminal within the settle time.
    const deadline = ended + (options.settleSeconds ?? 120) * 1000;
    let pending = [...accepted.keys()];
    const finals = new Map<string, Task>();
    while (pending.length > 0 && Date.now() < deadline) {
      const still: string[] = [];
      for (const id of pending) {
        const { body: task } = await api<Task>('GET', `/tasks/${id}`);
        if (TERMINAL.includes(task.status)) finals.set(id, task);
        else still.push(id);
      }
      pending = still;
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    report.settledAfterMs = Date.now() - ended;
    const historyOf = async (id: string) => describe((await api<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items);
    for (const id of pending) {
      const { body: task } = await api<Task>('GET', `/tasks/${id}`);
      report.notTerminal.push({ id, status: task.status, history: `${JSON.stringify(task)} ${await historyOf(id)}` });
    }

    // Outcomes.
    report.tasks.accepted = accepted.size;
    const histories = new Map<string, string>();
    for (const [id, { body, cancelled }] of accepted) {
      const type = String(body.type) + (body.runtime === 'container' ? '/container' : '');
      report.tasks.byType[type] = (report.tasks.byType[type] ?? 0) + 1;
      const task = finals.get(id);
      if (!task) continue;
      report.outcomes[task.status] = (report.outcomes[task.status] ?? 0) + 1;
      const events = (await api<{ items: Event[] }>('GET', `/tasks/${id}/events`)).body.items;
      eventsOf.set(id, events);
      for (const e of events) {
        const match = RECOVERY.exec(e.reason);
        if (match) report.recoveries[match[1]] = (report.recoveries[match[1]] ?? 0) + 1;
      }
      const why = explain(task, body, cancelled, events);
      const history = describe(events);
      histories.set(id, history);
      if (why) report.unexplained.push({ id, type, status: task.status, why, history });
    }
    for (const error of serverErrors) report.unexplained.push({ id: '-', type: '-', status: '5xx', why: error });

    // Executions of the recording type: overlaps and recovery times.
    const marks: ExecutionMark[] = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const spans = new Map<
      string,
      { task: string; execution: string; attempt: number; pid: number; begin: number; last: number; ended: boolean }
    >();
    for (const m of marks) {
      const span = spans.get(m.execution) ?? {
        task: m.task,
        execution: m.execution,
        attempt: m.attempt,
        pid: m.pid,
        begin: m.at,
        last: m.at,
        ended: false,
      };
      span.begin = Math.min(span.begin, m.at);
      span.last = Math.max(span.last, m.at);
      if (m.event === 'end') span.ended = true;
      spans.set(m.execution, span);
    }
    report.executions = spans.size;
    const byTask = new Map<string, (typeof spans extends Map<string, infer S> ? S : never)[]>();
    for (const span of spans.values()) byTask.set(span.task, [...(byTask.get(span.task) ?? []), span]);
    const recoveries: { id: string; ms: number }[] = [];
    const heldKillRecoveries: { id: string; ms: number }[] = [];
    for (const [id, list] of byTask) {
      list.sort((a, b) => a.begin - b.begin);
      for (let i = 1; i < list.length; i++) {
        const [prev, next] = [list[i - 1], list[i]];
        // A killed execution's last mark is at most one tick before its death.
        if (next.begin < prev.last) {
          const trail = marks
            .filter((m) => m.task === id && m.event !== 'tick')
            .map((m) => `${m.execution}:a${m.attempt}:${m.event}@${m.at}`)
            .join(' ');
          report.overlaps.push({ id, first: prev.execution, second: next.execution, overlapMs: prev.last - next.begin, marks: trail });
        }
        if (prev.ended) continue;
        const starts = (eventsOf.get(id) ?? [])
          // Attempt starts only (a takeover is recorded as RUNNING → QUEUED → RUNNING); a pause or
          // cancel request on a running task (RUNNING → RUNNING) is no sign of life.
          .filter((e) => e.from === 'QUEUED' && e.to === 'RUNNING')
          .map((e) => ({ at: Date.parse(e.at), attempt: e.attempt }));
        const gap = {
          lastMark: prev.last,
          nextBegin: next.begin,
          nextAttempt: next.attempt,
          starts,
          holderKills: holderKills.get(id) ?? [],
          lastPid: prev.pid,
        };
        for (const segment of recoverySegments({ ...gap, tickMs: TICK_MS }))
          (segment.afterHeldKill ? heldKillRecoveries : recoveries).push({ id, ms: segment.ms });
      }
    }
    const summary = (list: { id: string; ms: number }[]): Recoveries => {
      list.sort((a, b) => a.ms - b.ms);
      return {
        count: list.length,
        p50: list[Math.floor(list.length / 2)]?.ms ?? 0,
        max: list.at(-1)?.ms ?? 0,
        slowest: list
          .slice(-3)
          .reverse()
          .map(({ id, ms }) => ({ id, ms, history: histories.get(id) ?? '' })),
      };
    };
    const inContainer = (id: string) => accepted.get(id)?.body.runtime === 'container';
    report.recoveryMs = summary(recoveries.filter((r) => !inContainer(r.id)));
    report.containerRecoveryMs = summary(recoveries.filter((r) => inContainer(r.id)));
    report.heldKillRecoveryMs = summary(heldKillRecoveries.filter((r) => !inContainer(r.id)));
    return report;
  } finally {
    await runtime.stop();
    sqs.destroy();
    rmSync(logFile, { force: true });
  }
}

/** Why a terminal task's outcome is not what its type, attempts and controls imply (undefined: it is). */
function explain(task: Task, body: Record<string, unknown>, cancelled: boolean, events: Event[]): string | undefined {
  const recovered = events.filter((e) => /^(worker-lost|lease-expired|dead-letter)/.test(e.reason) && e.to === 'QUEUED').length;
  const lostFinally = events.some((e) => e.reason === 'poison' || e.reason === 'cancel-forced');
  if (task.attempt > task.maxAttempts) return `attempt ${task.attempt} beyond maxAttempts ${task.maxAttempts}`;
  if (task.status === 'CANCELLED') return cancelled ? undefined : 'cancelled, but nobody cancelled it';
  if (cancelled && !events.some((e) => e.reason === 'cancel-requested'))
    return `${task.status} after a cancel that was accepted before it ran`;
  if (task.status === 'FAILED') {
    if (task.error?.code === 'poison') return recovered + 1 >= task.maxAttempts || lostFinally ? undefined : 'poison without lost attempts';
    if (body.type === 'fail' && task.attempt === task.maxAttempts) return undefined;
    return `FAILED with ${task.error?.code}: ${task.error?.message}`;
  }
  // SUCCEEDED: the result its type returns, on the attempt its failures and recoveries explain.
  const payload = body.payload as Record<string, number>;
  switch (body.type) {
    case 'echo':
      if (!isDeepStrictEqual(task.result, payload)) return `echo returned ${JSON.stringify(task.result)}`;
      break;
    case 'sleep':
      if ((task.result as { steps?: number })?.steps !== payload.steps) return `sleep returned ${JSON.stringify(task.result)}`;
      break;
    case RECORDING_TYPE:
      if ((task.result as { steps?: number })?.steps !== payload.steps) return `recording returned ${JSON.stringify(task.result)}`;
      break;
    case 'fail':
      if (task.attempt <= payload.times) return `fail succeeded on attempt ${task.attempt}, planned to fail ${payload.times}`;
      return task.attempt <= payload.times + 1 + recovered ? undefined : `attempt ${task.attempt}: more than its failures and recoveries`;
  }
  return task.attempt === 1 + recovered ? undefined : `attempt ${task.attempt} after ${recovered} recoveries: an attempt lost or skipped`;
}
