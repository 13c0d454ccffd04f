/**
 * `sluice`: submit, inspect, watch and control tasks from a terminal or a script.
 *
 * Exit codes: 0 done (and, when watching, the task SUCCEEDED) · 1 the watched task ended FAILED or
 * CANCELLED · 2 usage error · 3 the API refused the request (4xx) · 4 the API could not be reached
 * or failed (5xx).
 */
import { parseArgs } from 'node:util';
import type {
  ApiErrorBody,
  LaneView,
  LimitView,
  ScheduleRunView,
  ScheduleView,
  StatsView,
  TaskView,
  TriggerResult,
} from '#api/contract.ts';
import { resolveBaseUrl, SluiceClient } from './cli-client.ts';

const EXIT = { ok: 0, taskFailed: 1, usage: 2, refused: 3, unavailable: 4 } as const;

const HELP = `Usage: sluice <command> [options]

Commands:
  submit --type T [--payload JSON] [--priority P] [--runtime lambda|container] [--delay S]
         [--max-attempts N] [--timeout S] [--tenant T] [--key K] [--idempotency-key K] [--watch]
  get <id>                 show a task
  ls [--status S] [--priority P] [--type T] [--tenant T] [--schedule NAME] [--limit N] [--cursor C]
  events <id>              its history, oldest first
  watch <id>               a live progress bar until the task finishes
  pause|resume|cancel|retry <id>
  priority <id> <critical|high|normal|low>

  schedule create NAME (--cron '*/5 * * * *' | --every 5m) [--tz Europe/Berlin] --type T
         [--payload JSON] [--priority P] [--overlap skip|queue|cancel-previous] [--start ISO] [--end ISO]
  schedule ls              schedules, their state and next run
  schedule get NAME        a schedule with its next runs
  schedule runs NAME       the tasks it created and the ticks it skipped, newest first
  schedule pause|resume|trigger|rm NAME

  bulk cancel|retry|pause|resume|priority [--to P] [--status S] [--priority P] [--type T]
         [--tenant T] [--schedule NAME] [--after ISO] [--before ISO] [--dry-run] [--watch]
                           one action on every task the filter matches, done by a \`bulk\` task
  lanes                    each lane's depths in SQS (ready, in flight, delayed, dead letters, oldest
                           age) and whether it is paused
  lanes pause|resume LANE  stop or restart consuming a lane (tasks keep arriving and wait)
  stats [--minutes N]      per lane: submitted, started, succeeded, failed and run-time p50/p95 over
                           the last N minutes (default 60), from CloudWatch
  console [--port N] [--token JWT]
                           the console on localhost for the API at --url: the same files the local
                           runtime serves, API calls forwarded signed with your AWS credentials
                           (or with a bearer token for a JWT deployment)

  limits set tenant|key|type KEY [--concurrency N] [--rate N/PERIOD]   e.g. --rate 100/60s
  limits ls                limits with their usage (holding a slot, starts this period, waiting)
  limits get tenant|key|type KEY
  limits rm tenant|key|type KEY

Options:
  --url URL   the API (default: SLUICE_URL, then cdk-outputs.json, then http://localhost:3000)
  --json      print JSON instead of text
Requests to a deployed API are signed with SigV4 from the default AWS credential chain.`;

/** The shapes the API answers with, from the contract (a type-only import: nothing of it runs here). */
type Task = TaskView;
type ApiError = Partial<ApiErrorBody>;

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

async function call<T>(client: SluiceClient, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  let res: Awaited<ReturnType<SluiceClient['request']>>;
  try {
    res = await client.request<T>(method, path, body, headers);
  } catch (error) {
    throw new CliError(
      `cannot reach ${client.baseUrl}: ${(error as Error).message} (is \`npm start\` running, or is --url right?)`,
      EXIT.unavailable,
    );
  }
  if (res.status >= 500) throw new CliError(`the API failed (${res.status}): ${JSON.stringify(res.body)}`, EXIT.unavailable);
  if (res.status >= 400) {
    const error = (res.body as ApiError).error;
    const hint = res.status === 403 ? ' (a deployed API needs AWS credentials allowed to call it)' : '';
    throw new CliError(`${res.status} ${error?.code ?? 'refused'}: ${error?.message ?? JSON.stringify(res.body)}${hint}`, EXIT.refused);
  }
  return res.body as T;
}

const line = (t: Task) =>
  `${t.id}  ${t.status.padEnd(9)} ${t.priority.padEnd(8)} ${t.type.padEnd(12)} attempt ${t.attempt}/${t.maxAttempts}${t.progress ? `  ${t.progress.percent}%` : ''}${t.control ? `  (${t.control} requested)` : ''}${t.tenant !== 'default' ? `  tenant ${t.tenant}` : ''}${t.waitingFor ? `  waiting for ${t.waitingFor.scope} ${t.waitingFor.key}` : ''}`;

const limitLine = (l: LimitView) =>
  `${`${l.scope} ${l.key}`.padEnd(28)} ${l.concurrency ? `concurrency ${l.concurrency}`.padEnd(16) : ''.padEnd(16)} ${l.rate ? `rate ${l.rate.limit}/${l.rate.periodSeconds}s`.padEnd(16) : ''.padEnd(16)} running ${l.usage.running}, started ${l.usage.startsInPeriod} this period, waiting ${l.usage.waiting}${l.source === 'default' ? '  (deployment default)' : ''}`;

/** `100/60s`, `5/10s`, `1000/1h` → a rate. */
function parseRate(text: string): { limit: number; periodSeconds: number } {
  const match = /^(\d+)\/(\d+)?([smh])$/.exec(text);
  if (!match) throw new CliError(`--rate must look like 100/60s or 5/1m, got "${text}"`, EXIT.usage);
  const unit = { s: 1, m: 60, h: 3600 }[match[3] as 's' | 'm' | 'h'];
  return { limit: Number(match[1]), periodSeconds: Number(match[2] ?? 1) * unit };
}

/** `sluice limits …`: the /limits routes. */
async function limitsCommand(client: SluiceClient, args: string[], values: Values, asJson: boolean): Promise<number> {
  const [action, scope, key] = args;
  if (action === 'ls') {
    const { items } = await call<{ items: LimitView[] }>(client, 'GET', '/limits');
    if (asJson) console.log(JSON.stringify({ items }, null, 2));
    else for (const l of items) console.log(limitLine(l));
    return EXIT.ok;
  }
  if (!['set', 'get', 'rm'].includes(action ?? '') || !scope || !key) {
    throw new CliError(
      'usage: sluice limits set|get|rm tenant|key|type KEY [--concurrency N] [--rate N/60s] · sluice limits ls',
      EXIT.usage,
    );
  }
  const path = `/limits/${encodeURIComponent(scope)}/${encodeURIComponent(key)}`;
  if (action === 'rm') {
    await call(client, 'DELETE', path);
    if (!asJson) console.log(`removed the limit of ${scope} ${key}`);
    return EXIT.ok;
  }
  let limit: LimitView;
  if (action === 'set') {
    const concurrency = typeof values.concurrency === 'string' ? integer(values.concurrency, '--concurrency') : undefined;
    const rate = typeof values.rate === 'string' ? parseRate(values.rate) : undefined;
    if (concurrency === undefined && rate === undefined)
      throw new CliError('limits set needs --concurrency N, --rate N/PERIOD or both', EXIT.usage);
    limit = await call<LimitView>(client, 'PUT', path, { concurrency, rate });
  } else limit = await call<LimitView>(client, 'GET', path);
  if (asJson) console.log(JSON.stringify(limit, null, 2));
  else console.log(limitLine(limit));
  return EXIT.ok;
}

function show(task: Task, asJson: boolean): void {
  if (asJson) {
    console.log(JSON.stringify(task, null, 2));
    return;
  }
  console.log(line(task));
  if (task.error) console.log(`  error: ${task.error.code}: ${task.error.message}`);
  if (task.result !== null && task.result !== undefined) console.log(`  result: ${JSON.stringify(task.result)}`);
}

function bar(task: Task): string {
  const percent = task.progress?.percent ?? (task.status === 'SUCCEEDED' ? 100 : 0);
  const filled = Math.round((percent / 100) * 30);
  const message = task.progress?.message ? ` ${task.progress.message}` : '';
  return `[${'█'.repeat(filled)}${'░'.repeat(30 - filled)}] ${String(Math.round(percent)).padStart(3)}% ${task.status}${message}`;
}

/** Poll until the task finishes, drawing a live bar on a terminal (a line per change otherwise). */
async function watch(client: SluiceClient, id: string, asJson: boolean): Promise<number> {
  const tty = process.stdout.isTTY && !asJson;
  let last = '';
  for (;;) {
    const task = await call<Task>(client, 'GET', `/tasks/${encodeURIComponent(id)}`);
    const drawn = bar(task);
    if (drawn !== last && !asJson) {
      if (tty) process.stdout.write(`\r\x1b[2K${drawn}`);
      else console.log(drawn);
      last = drawn;
    }
    if (TERMINAL.includes(task.status)) {
      if (tty) process.stdout.write('\n');
      show(task, asJson);
      return task.status === 'SUCCEEDED' ? EXIT.ok : EXIT.taskFailed;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

function json(value: string | undefined, flag: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new CliError(`${flag} must be JSON, e.g. ${flag} '{"ms":1000}'`, EXIT.usage);
  }
}

const scheduleLine = (s: ScheduleView) =>
  `${s.name.padEnd(24)} ${s.state.padEnd(7)} ${(s.cron ?? `every ${s.every}`).padEnd(18)} ${s.timezone.padEnd(18)} ${s.task.type.padEnd(12)} next ${s.nextRuns[0] ?? '—'}  created ${s.counts.created}, skipped ${s.counts.skipped}`;

function showSchedule(s: ScheduleView, asJson: boolean): void {
  if (asJson) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  console.log(scheduleLine(s));
  console.log(`  runs on ${s.expression} (${s.timezone}), overlap ${s.overlap}`);
  if (s.lastRun) console.log(`  last run ${s.lastRun.tick}: task ${s.lastRun.taskId} ${s.lastRun.status ?? ''}`);
  for (const run of s.nextRuns) console.log(`  next ${run}`);
}

type Values = Record<string, string | boolean | undefined>;

/** `sluice schedule …`: the /schedules routes. */
async function scheduleCommand(client: SluiceClient, args: string[], values: Values, asJson: boolean): Promise<number> {
  const [action, name] = args;
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  if (!action) throw new CliError('usage: sluice schedule create|ls|get|runs|pause|resume|trigger|rm …', EXIT.usage);
  if (action === 'ls') {
    const page = await call<{ items: ScheduleView[]; cursor: string | null }>(client, 'GET', '/schedules?limit=100');
    if (asJson) console.log(JSON.stringify(page, null, 2));
    else for (const s of page.items) console.log(scheduleLine(s));
    return EXIT.ok;
  }
  if (!name) throw new CliError(`schedule ${action} needs a name: sluice schedule ${action} NAME`, EXIT.usage);
  const path = `/schedules/${encodeURIComponent(name)}`;
  switch (action) {
    case 'create': {
      if (!text('type')) throw new CliError("schedule create needs --type (and --cron '…' or --every 5m)", EXIT.usage);
      const body = {
        name,
        cron: text('cron'),
        every: text('every'),
        timezone: text('tz'),
        task: { type: text('type'), payload: json(text('payload'), '--payload'), priority: text('priority') },
        overlap: text('overlap'),
        startAt: text('start'),
        endAt: text('end'),
      };
      showSchedule(await call<ScheduleView>(client, 'POST', '/schedules', body), asJson);
      return EXIT.ok;
    }
    case 'get':
      showSchedule(await call<ScheduleView>(client, 'GET', path), asJson);
      return EXIT.ok;
    case 'runs': {
      const page = await call<{ items: ScheduleRunView[]; cursor: string | null }>(client, 'GET', `${path}/runs?limit=50`);
      if (asJson) console.log(JSON.stringify(page, null, 2));
      else
        for (const r of page.items)
          console.log(
            `${r.tick}  ${r.kind.padEnd(7)} ${r.manual ? 'trigger ' : ''}${r.taskId ? `${r.taskId} ${r.status ?? ''}` : (r.reason ?? '')}`,
          );
      return EXIT.ok;
    }
    case 'pause':
    case 'resume':
      showSchedule(await call<ScheduleView>(client, 'POST', `${path}/${action}`), asJson);
      return EXIT.ok;
    case 'trigger': {
      const result = await call<TriggerResult>(client, 'POST', `${path}/trigger`);
      if (asJson) console.log(JSON.stringify(result, null, 2));
      else if (result.task) show(result.task, false);
      else console.log(`skipped: ${result.reason}`);
      return EXIT.ok;
    }
    case 'rm':
      await call(client, 'DELETE', path);
      if (!asJson) console.log(`deleted ${name} (its tasks are kept)`);
      return EXIT.ok;
    default:
      throw new CliError(`unknown schedule command "${action}"\n\n${HELP}`, EXIT.usage);
  }
}

const integer = (value: string | undefined, flag: string) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`${flag} must be a whole number`, EXIT.usage);
  return n;
};

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      type: { type: 'string' },
      payload: { type: 'string' },
      priority: { type: 'string' },
      runtime: { type: 'string' },
      delay: { type: 'string' },
      'max-attempts': { type: 'string' },
      timeout: { type: 'string' },
      'idempotency-key': { type: 'string' },
      watch: { type: 'boolean', default: false },
      status: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      schedule: { type: 'string' },
      tenant: { type: 'string' },
      key: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      cron: { type: 'string' },
      every: { type: 'string' },
      tz: { type: 'string' },
      overlap: { type: 'string' },
      start: { type: 'string' },
      end: { type: 'string' },
      to: { type: 'string' },
      after: { type: 'string' },
      before: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      minutes: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? EXIT.ok : EXIT.usage;
  }
  const client = new SluiceClient(resolveBaseUrl(values.url), values.token ?? process.env.SLUICE_TOKEN);
  const asJson = values.json ?? false;
  const needId = () => {
    if (!args[0]) throw new CliError(`${command} needs a task id: sluice ${command} <id>`, EXIT.usage);
    return encodeURIComponent(args[0]);
  };
  switch (command) {
    case 'submit': {
      if (!values.type) throw new CliError('submit needs --type (e.g. --type echo)', EXIT.usage);
      const body = {
        type: values.type,
        payload: json(values.payload, '--payload'),
        priority: values.priority,
        runtime: values.runtime,
        delaySeconds: integer(values.delay, '--delay'),
        maxAttempts: integer(values['max-attempts'], '--max-attempts'),
        timeoutSeconds: integer(values.timeout, '--timeout'),
        tenant: values.tenant,
        concurrencyKey: values.key,
      };
      const headers = values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : undefined;
      const task = await call<Task>(client, 'POST', '/tasks', body, headers);
      if (!values.watch) {
        show(task, asJson);
        return EXIT.ok;
      }
      if (!asJson) console.log(`submitted ${task.id}`);
      return watch(client, task.id, asJson);
    }
    case 'get':
      show(await call<Task>(client, 'GET', `/tasks/${needId()}`), asJson);
      return EXIT.ok;
    case 'ls': {
      const query = new URLSearchParams();
      for (const key of ['status', 'priority', 'type', 'tenant', 'schedule', 'limit', 'cursor'] as const)
        if (values[key]) query.set(key, String(values[key]));
      const page = await call<{ items: Task[]; cursor: string | null }>(client, 'GET', `/tasks${query.size ? `?${query}` : ''}`);
      if (asJson) console.log(JSON.stringify(page, null, 2));
      else {
        for (const task of page.items) console.log(line(task));
        if (page.cursor) console.log(`more: sluice ls --cursor ${page.cursor}`);
      }
      return EXIT.ok;
    }
    case 'events': {
      const events = await call<{
        items: { at: string; from: string | null; to: string; reason: string; attempt: number; actor: string }[];
      }>(client, 'GET', `/tasks/${needId()}/events`);
      if (asJson) console.log(JSON.stringify(events, null, 2));
      else
        for (const e of events.items)
          console.log(
            `${e.at}  ${(e.from ?? '—').padEnd(9)} → ${e.to.padEnd(9)} ${e.reason.padEnd(24)} attempt ${e.attempt}  by ${e.actor}`,
          );
      return EXIT.ok;
    }
    case 'watch':
      return watch(client, decodeURIComponent(needId()), asJson);
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'retry':
      show(await call<Task>(client, 'POST', `/tasks/${needId()}/${command}`), asJson);
      return EXIT.ok;
    case 'priority': {
      const id = needId();
      if (!args[1]) throw new CliError('usage: sluice priority <id> <critical|high|normal|low>', EXIT.usage);
      show(await call<Task>(client, 'PATCH', `/tasks/${id}`, { priority: args[1] }), asJson);
      return EXIT.ok;
    }
    case 'bulk': {
      const action = args[0];
      if (!action) throw new CliError('usage: sluice bulk cancel|retry|pause|resume|priority [filters] [--dry-run]', EXIT.usage);
      const filter = Object.fromEntries(
        (
          [
            ['status', values.status],
            ['priority', values.priority],
            ['type', values.type],
            ['tenant', values.tenant],
            ['schedule', values.schedule],
            ['createdAfter', values.after],
            ['createdBefore', values.before],
          ] as const
        ).filter(([, v]) => v !== undefined),
      );
      const body = { filter, action, ...(values.to ? { priority: values.to } : {}), ...(values['dry-run'] ? { dryRun: true } : {}) };
      if (values['dry-run']) {
        const { matching } = await call<{ matching: number }>(client, 'POST', '/tasks/bulk', body);
        console.log(asJson ? JSON.stringify({ matching }) : `${matching} task${matching === 1 ? '' : 's'} match`);
        return EXIT.ok;
      }
      const task = await call<Task>(client, 'POST', '/tasks/bulk', body);
      if (!values.watch) {
        show(task, asJson);
        return EXIT.ok;
      }
      if (!asJson) console.log(`bulk task ${task.id}`);
      return watch(client, task.id, asJson);
    }
    case 'lanes': {
      const [action, name] = args;
      if (action !== undefined) {
        if ((action !== 'pause' && action !== 'resume') || !name) throw new CliError('usage: sluice lanes pause|resume LANE', EXIT.usage);
        const lane = await call<LaneView>(client, 'POST', `/lanes/${encodeURIComponent(name)}/${action}`);
        console.log(
          asJson ? JSON.stringify(lane, null, 2) : `${lane.name}: ${lane.paused ? 'paused' : 'consuming'} (${lane.changedBy ?? '?'})`,
        );
        return EXIT.ok;
      }
      const { items } = await call<{ items: LaneView[] }>(client, 'GET', '/lanes');
      if (asJson) console.log(JSON.stringify({ items }, null, 2));
      else {
        console.log('lane       ready  in-flight  delayed  dead  oldest  concurrency  state');
        for (const l of items)
          console.log(
            `${l.name.padEnd(9)} ${String(l.visible).padStart(6)} ${String(l.inFlight).padStart(10)} ${String(l.delayed).padStart(8)} ${String(l.dlq).padStart(5)} ${`${l.oldestQueuedAgeSeconds}s`.padStart(7)}  ${`${l.maxConcurrency} × ${l.batchSize}`.padEnd(11)}  ${l.paused ? `paused by ${l.changedBy ?? '?'} at ${l.changedAt ?? '?'}` : 'consuming'}`,
          );
      }
      return EXIT.ok;
    }
    case 'stats': {
      const minutes = integer(values.minutes, '--minutes') ?? 60;
      const stats = await call<StatsView>(client, 'GET', `/stats?minutes=${minutes}`);
      if (asJson) console.log(JSON.stringify(stats, null, 2));
      else {
        const total = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
        const worst = (values: readonly (number | null)[]) => {
          const known = values.filter((v): v is number => v !== null);
          return known.length ? `${Math.round(Math.max(...known))} ms` : '-';
        };
        console.log(`last ${minutes} min   submitted  started  succeeded  failed  worst p50  worst p95`);
        for (const l of stats.lanes)
          console.log(
            `${l.name.padEnd(13)} ${String(total(l.submitted)).padStart(9)} ${String(total(l.started)).padStart(8)} ${String(total(l.succeeded)).padStart(10)} ${String(total(l.failed)).padStart(7)} ${worst(l.runTimeP50Ms).padStart(10)} ${worst(l.runTimeP95Ms).padStart(10)}`,
          );
      }
      return EXIT.ok;
    }
    case 'console': {
      const { serveConsole } = await import('./console-proxy.ts');
      const { url } = await serveConsole(client, integer(values.port, '--port') ?? 3100);
      console.log(`Sluice console for ${client.baseUrl}: ${url}/console/   (Ctrl-C to stop)`);
      return new Promise<number>(() => {}); // serves until interrupted
    }
    case 'schedule':
      return scheduleCommand(client, args, values, asJson);
    case 'limits':
      return limitsCommand(client, args, values, asJson);
    default:
      throw new CliError(`unknown command "${command}"\n\n${HELP}`, EXIT.usage);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const code = error instanceof CliError ? error.exitCode : EXIT.usage;
  console.error(`sluice: ${(error as Error).message}`);
  process.exitCode = code;
}
