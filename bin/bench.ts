/**
 * `npm run bench [-- --quick] [-- --out FILE] [-- --only tenancy|cost|idle]`: measures Sluice on the
 * local runtime and the emulator — requests per task counted on the SDK clients the handlers use,
 * write units from the table's stream, cost per million tasks from those counts and the price
 * table (for a default task type and for one that opts out of the exclusive start), throughput
 * against raw SDK calls on the same emulator (three rounds), latency per lane, priority isolation,
 * bundle sizes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ThroughputRound } from './bench/rounds.ts';

process.env.SLUICE_METER = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

const { startMoto } = await import('./emulator.mjs');
const { drainMeter } = await import('./bench/meter.ts');
const { taskKey } = await import('#core/ids.ts');
const { SETTINGS } = await import('#core/settings.ts');
const { readInBatches } = await import('#core/batch-write.ts');
const { startLocalRuntime } = await import('./local/runtime.ts');
const { provision } = await import('./local/provision.ts');
const { meterStream } = await import('./bench/stream-meter.ts');
const { measureBundles } = await import('./bench/bundles.ts');
const { ANCHORS, PRICES, taskCostLines } = await import('./bench/prices.ts');
const { IDEMPOTENT_TYPE } = await import('./bench/idempotent-task.ts');
const { summarizeRounds } = await import('./bench/rounds.ts');

type LocalRuntime = Awaited<ReturnType<typeof startLocalRuntime>>;
type Task = { id: string; priority: string; createdAt: number; startedAt?: number; finishedAt?: number; status: string };

const args = process.argv.slice(2);
// `--scale-model`: the README's "At scale" tables from the live configuration; no emulator, no workloads.
if (args.includes('--scale-model')) {
  const { scaleModel, scaleModelMarkdown } = await import('./bench/scale-model.ts');
  console.log(scaleModelMarkdown(scaleModel()));
  process.exit(0);
}
const quick = args.includes('--quick');
// `--only PROFILE`: one part of the run alone (minutes instead of the whole run).
const ONLY = ['tenancy', 'cost', 'idle'] as const;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
if (only !== undefined && !(ONLY as readonly string[]).includes(only)) {
  console.error(`--only takes one of: ${ONLY.join(', ')}`);
  process.exit(2);
}
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : undefined;
const TASKS = Number(process.env.BENCH_TASKS ?? (quick ? 400 : 2000));
const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
const FUNCTION_MEMORY_GB = 0.25;
/**
 * Rounds of the efficiency measurement, each as large as a cost profile (TASKS), --quick included:
 * a smaller round would weigh the ramp-up and the last tasks' tail more and bias the ratio down.
 * Each Sluice round gets a fresh runtime: in a trial, rounds 2 and 3 on the batch profile's runtime,
 * reused, ran 25% slower than the profile itself (the raw rounds meanwhile 11%), and reuse saved
 * only a start and warm-up (~20 s a round). The two extra rounds add about 2.5 minutes to --quick.
 */
const EFFICIENCY_ROUNDS = 3;
const log = (line: string) => console.error(`[bench] ${line}`);

let endpoint = process.env.AWS_ENDPOINT_URL;
let stopMoto: (() => Promise<void>) | undefined;
if (!endpoint) {
  const moto = await startMoto({ quiet: true });
  endpoint = moto.endpoint;
  stopMoto = moto.stop;
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
}
process.env.AWS_REGION ??= 'us-east-1';

// The harness's own reads go through clients of its own, so the meter sees only Sluice's requests.
const harnessDb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: process.env.AWS_REGION }));
const harnessSqs = new SQSClient({ region: process.env.AWS_REGION, useQueueUrlAsEndpoint: false });

async function startRuntime(name: string): Promise<LocalRuntime> {
  // The sweeper is a fixed cost per minute, not per task: keep it out of the per-task counts.
  return startLocalRuntime({
    port: 0,
    prefix: `bench-${name}-${Date.now().toString(36)}`,
    quiet: true,
    sweepIntervalMs: 3_600_000,
    // The idempotent type exists for the bench only: loaded here, never in the shipped registry.
    taskModules: [fileURLToPath(new URL('./bench/idempotent-task.ts', import.meta.url))],
  });
}

async function withRuntime<T>(name: string, fn: (runtime: LocalRuntime) => Promise<T>): Promise<T> {
  const runtime = await startRuntime(name);
  try {
    return await fn(runtime);
  } finally {
    await runtime.stop();
  }
}

/**
 * Start the worker environments before measuring: a cold start here is a Node process start, far
 * slower than Lambda's, and would measure this machine rather than Sluice.
 */
async function warmUp(runtime: LocalRuntime): Promise<void> {
  const warm = (await post(runtime.url, '/tasks/batch', {
    tasks: Array.from({ length: 100 }, (_, i) => ({ type: 'echo', priority: PRIORITIES[i % 4] })),
  })) as {
    items: { id: string }[];
  };
  await waitAll(
    runtime.resources.tableName,
    warm.items.map((t) => t.id),
  );
  await new Promise((r) => setTimeout(r, 1000));
}

async function post(url: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function readTask(table: string, id: string): Promise<Task> {
  const out = await harnessDb.send(new GetCommand({ TableName: table, Key: taskKey(id), ConsistentRead: true }));
  return out.Item as Task;
}

/** Many tasks in one BatchGetItem a hundred, so a harness polling a backlog barely loads the emulator it measures. */
async function readTasks(table: string, ids: readonly string[]): Promise<Task[]> {
  return (await readInBatches(harnessDb, table, ids.map(taskKey), 'tasks')) as Task[];
}

/** Resolves when every task is in a terminal state; returns them. */
async function waitAll(table: string, ids: string[], timeoutMs = 600_000): Promise<Task[]> {
  const done: Task[] = [];
  const deadline = Date.now() + timeoutMs;
  for (const id of ids) {
    for (;;) {
      const task = await readTask(table, id);
      if (task && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(task.status)) {
        done.push(task);
        break;
      }
      if (Date.now() > deadline) throw new Error(`task ${id} did not finish`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return done;
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
};
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const targetLine = (targets: Record<string, boolean>) =>
  Object.entries(targets)
    .map(([k, v]) => `${k} ${v ? 'met' : 'MISSED'}`)
    .join(', ');

interface ProfileResult {
  tasks: number;
  seconds: number;
  tasksPerSecond: number;
  requestsPerTask: {
    apiGateway: number;
    lambdaInvocations: number;
    lambdaInvocationsByFunction: Record<string, number>;
    sqs: number;
    sqsByOperation: Record<string, number>;
    sqsIdlePolls: number;
    dynamodbWru: number;
    dynamodbWruBreakdown: { table: number; index: number; failedConditions: number };
    dynamodbRru: number;
    dynamodbByOperation: Record<string, number>;
  };
  lambdaGbSecondsPerTask: number;
  latencyMs: Record<string, { submitToStartP50: number; submitToStartP99: number; submitToFinishP50: number; submitToFinishP99: number }>;
}

type Submit = 'single' | 'batch';

/**
 * Submit TASKS tasks of `type` the profile's way (one request each, 16 at once; or batches of 100,
 * two at once) and wait for all of them: tasks/s from the first submit to the last finish.
 */
async function timedRun(runtime: LocalRuntime, name: Submit, type: string) {
  // Ordinary work: the default priority. Per-lane latency is measured separately.
  const specs = Array.from({ length: TASKS }, (_, i) => ({ type, payload: { n: i } }));
  const ids: string[] = [];
  let apiRequests = 0;
  const started = performance.now();
  if (name === 'single') {
    await pool(specs, 16, async (spec) => {
      apiRequests += 1;
      ids.push(((await post(runtime.url, '/tasks', spec)) as { id: string }).id);
    });
  } else {
    const batches = Array.from({ length: Math.ceil(specs.length / 100) }, (_, i) => specs.slice(i * 100, i * 100 + 100));
    await pool(batches, 2, async (tasks) => {
      apiRequests += 1;
      ids.push(...((await post(runtime.url, '/tasks/batch', { tasks })) as { items: { id: string }[] }).items.map((t) => t.id));
    });
  }
  log(`${name} ${type}: ${ids.length} submitted, waiting for them to finish`);
  const tasks = await waitAll(runtime.resources.tableName, ids);
  const seconds = (performance.now() - started) / 1000;
  const failed = tasks.filter((t) => t.status !== 'SUCCEEDED').length;
  if (failed) throw new Error(`${failed} tasks did not succeed`);
  // Let the last invocations return (their deletes and meter records) before anything else is counted or timed.
  await new Promise((r) => setTimeout(r, 1500));
  return { ids, apiRequests, tasks, seconds, tasksPerSecond: TASKS / seconds };
}

function resetCounts(runtime: LocalRuntime): void {
  drainMeter();
  runtime.workerMeter.length = 0;
  for (const key of Object.keys(runtime.invocations)) delete runtime.invocations[key];
}

/** One cost profile on a fresh runtime: warm it up, then count every request the run's tasks make. */
async function measureProfile(runtime: LocalRuntime, name: Submit, type: string): Promise<ProfileResult> {
  await warmUp(runtime);
  resetCounts(runtime);
  const run = await timedRun(runtime, name, type);
  log(`${name} ${type}: all finished; metering the stream`);
  const meter = [...drainMeter(), ...runtime.workerMeter];
  const measured = new Set(run.ids);
  const writes = await meterStream(
    runtime.resources.streamArn,
    (image) => measured.has(String(image.id)) || measured.has(String(image.pk).slice(2)),
  );
  const invocations = { ...runtime.invocations };

  const per = (n: number) => round(n / TASKS, 4);
  const sqs = meter.filter((m) => m.service === 'sqs' && !m.emptyReceive);
  const sqsByOperation: Record<string, number> = {};
  for (const m of sqs) sqsByOperation[m.operation] = (sqsByOperation[m.operation] ?? 0) + (m.sqsRequests ?? 1);
  const dynamo = meter.filter((m) => m.service === 'dynamodb');
  const dynamodbByOperation: Record<string, number> = {};
  for (const m of dynamo) dynamodbByOperation[m.operation] = (dynamodbByOperation[m.operation] ?? 0) + 1;
  const failedWru = dynamo.reduce((n, m) => n + (m.failedWru ?? 0), 0);
  const rru = dynamo.reduce((n, m) => n + (m.rru ?? 0), 0);
  const lambdaByFunction: Record<string, number> = {};
  let lambdaMs = 0;
  for (const [fn, stat] of Object.entries(invocations)) {
    lambdaByFunction[fn] = per(stat.count);
    lambdaMs += stat.ms;
  }
  const latencyMs = laneLatencies(run.tasks);
  return {
    tasks: TASKS,
    seconds: round(run.seconds, 2),
    tasksPerSecond: round(run.tasksPerSecond, 1),
    requestsPerTask: {
      apiGateway: per(run.apiRequests),
      lambdaInvocations: per(Object.values(invocations).reduce((n, s) => n + s.count, 0)),
      lambdaInvocationsByFunction: lambdaByFunction,
      sqs: per(sqs.reduce((n, m) => n + (m.sqsRequests ?? 1), 0)),
      sqsByOperation: Object.fromEntries(Object.entries(sqsByOperation).map(([k, v]) => [k, per(v)])),
      sqsIdlePolls: per(meter.filter((m) => m.emptyReceive).length),
      dynamodbWru: per(writes.tableWru + writes.indexWru + failedWru),
      dynamodbWruBreakdown: { table: per(writes.tableWru), index: per(writes.indexWru), failedConditions: per(failedWru) },
      dynamodbRru: per(rru),
      dynamodbByOperation: Object.fromEntries(Object.entries(dynamodbByOperation).map(([k, v]) => [k, per(v)])),
    },
    lambdaGbSecondsPerTask: round(((lambdaMs / 1000) * FUNCTION_MEMORY_GB) / TASKS, 6),
    latencyMs,
  };
}

function laneLatencies(tasks: Task[]): ProfileResult['latencyMs'] {
  const latencyMs: ProfileResult['latencyMs'] = {};
  for (const priority of PRIORITIES) {
    const lane = tasks.filter((t) => t.priority === priority);
    if (lane.length === 0) continue;
    const toStart = lane.map((t) => (t.startedAt ?? t.createdAt) - t.createdAt);
    const toFinish = lane.map((t) => (t.finishedAt ?? t.createdAt) - t.createdAt);
    latencyMs[priority] = {
      submitToStartP50: percentile(toStart, 50),
      submitToStartP99: percentile(toStart, 99),
      submitToFinishP50: percentile(toFinish, 50),
      submitToFinishP99: percentile(toFinish, 99),
    };
  }
  return latencyMs;
}

function costPerMillion(profile: ProfileResult) {
  const lines = taskCostLines(profile.requestsPerTask);
  const perMillion = Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, round(v * 1e6, 3)])) as Record<
    keyof typeof lines,
    number
  >;
  return { total: round(Object.values(lines).reduce((a, b) => a + b, 0) * 1e6, 2), lines: perMillion };
}

/** The same SDK calls per task as Sluice makes, issued directly: what the emulator sustains without Sluice. */
async function rawBaseline(callsPerTask: Record<string, number>): Promise<number> {
  const resources = await provision({ prefix: `bench-raw-${Date.now().toString(36)}` });
  const queue = resources.queueUrls.normal;
  const table = resources.tableName;
  const count = (op: string) => Math.round((callsPerTask[op] ?? 0) * TASKS);
  const ops: (() => Promise<unknown>)[] = [];
  const item = (i: number) => ({
    pk: `RAW#${i % 97}`,
    id: String(i),
    status: 'QUEUED',
    version: 1,
    type: 'echo',
    payload: `{"n":${i}}`,
    history: ['x'],
  });
  for (let i = 0; i < count('PutItem') + count('BatchWriteItem') * 25; i++)
    ops.push(() => harnessDb.send(new PutCommand({ TableName: table, Item: item(i) })));
  for (let i = 0; i < count('GetItem'); i++)
    ops.push(() => harnessDb.send(new GetCommand({ TableName: table, Key: { pk: `RAW#${i % 97}`, id: String(i) } })));
  for (let i = 0; i < count('UpdateItem'); i++) {
    ops.push(() =>
      harnessDb.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: `RAW#${i % 97}`, id: `u${i}` },
          UpdateExpression: 'SET #s = :s ADD version :one',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': 'SUCCEEDED', ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
  }
  const body = JSON.stringify({ id: '01m86ghs3b2k721tmtwhexw', v: 1, a: 1 });
  for (let i = 0; i < count('SendMessageBatch'); i++) {
    ops.push(() =>
      harnessSqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue,
          Entries: Array.from({ length: 10 }, (_, n) => ({ Id: String(n), MessageBody: body })),
        }),
      ),
    );
  }
  const receives = count('ReceiveMessage');
  for (let i = 0; i < receives; i++) {
    ops.push(async () => {
      const out = await harnessSqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10 }));
      const messages = out.Messages ?? [];
      if (messages.length) {
        await harnessSqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue,
            Entries: messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    });
  }
  const started = performance.now();
  await pool(ops, 16, async (op) => {
    await op();
  });
  return TASKS / ((performance.now() - started) / 1000);
}

/**
 * The per-task profiles: single and batch submit for a default type (exclusive start) and for a
 * type that opts out (`idempotent: true`), each on a fresh runtime so each meets the same
 * conditions. And the efficiency rounds, each a Sluice round then a raw round: the batch profile
 * is Sluice's round 1; rounds 2 and 3 repeat its run on fresh runtimes. Each raw round runs with
 * no runtime alive (its pollers would load the emulator under the raw calls) and right after its
 * Sluice round, so a busy spell on this shared machine weighs on both sides of one ratio.
 */
async function perTaskProfiles() {
  const single = await withRuntime('single', (rt) => measureProfile(rt, 'single', 'echo'));
  log(`single submit: ${single.tasksPerSecond} tasks/s`);
  const batch = await withRuntime('batch', (rt) => measureProfile(rt, 'batch', 'echo'));
  log(`batch submit: ${batch.tasksPerSecond} tasks/s`);
  const calls = { ...batch.requestsPerTask.dynamodbByOperation, ...batch.requestsPerTask.sqsByOperation };
  const rounds: ThroughputRound[] = [];
  for (let n = 1; n <= EFFICIENCY_ROUNDS; n++) {
    const tasksPerSecond =
      n === 1
        ? TASKS / batch.seconds
        : await withRuntime(`round${n}`, async (rt) => {
            await warmUp(rt);
            return (await timedRun(rt, 'batch', 'echo')).tasksPerSecond;
          });
    rounds.push({ tasksPerSecond, rawSdkTasksPerSecond: await rawBaseline(calls) });
    log(
      `efficiency round ${n}: ${round(tasksPerSecond, 1)} tasks/s, raw SDK calls ${round(rounds[n - 1].rawSdkTasksPerSecond, 1)} tasks/s`,
    );
  }
  const idempotentSingle = await withRuntime('idem-single', (rt) => measureProfile(rt, 'single', IDEMPOTENT_TYPE));
  log(`idempotent single submit: ${idempotentSingle.tasksPerSecond} tasks/s`);
  const idempotentBatch = await withRuntime('idem-batch', (rt) => measureProfile(rt, 'batch', IDEMPOTENT_TYPE));
  log(`idempotent batch submit: ${idempotentBatch.tasksPerSecond} tasks/s`);
  return { single, batch, idempotentSingle, idempotentBatch, rounds };
}

/** The per-task part of the JSON, its targets (issue J's) and its lines of the human summary. */
function perTaskReport(profiles: Awaited<ReturnType<typeof perTaskProfiles>>) {
  const { single, batch, idempotentSingle, idempotentBatch } = profiles;
  const columns = [single, batch, idempotentSingle, idempotentBatch];
  const costs = columns.map(costPerMillion);
  const [singleCost, batchCost, idempotentSingleCost, idempotentBatchCost] = costs;
  const throughput = summarizeRounds(profiles.rounds);
  const json = {
    requestsPerTask: {
      single: single.requestsPerTask,
      batch: batch.requestsPerTask,
      idempotent: { single: idempotentSingle.requestsPerTask, batch: idempotentBatch.requestsPerTask },
    },
    costPerMillionUsd: {
      single: singleCost.total,
      batch: batchCost.total,
      // The same counts for a type that declares `idempotent: true` (no separate start write).
      idempotent: { single: idempotentSingleCost.total, batch: idempotentBatchCost.total },
      breakdown: {
        single: singleCost.lines,
        batch: batchCost.lines,
        idempotent: { single: idempotentSingleCost.lines, batch: idempotentBatchCost.lines },
      },
      anchors: ANCHORS,
    },
    throughput: {
      tasksPerSecond: throughput.tasksPerSecond,
      singleSubmitTasksPerSecond: single.tasksPerSecond,
      rawSdkTasksPerSecond: throughput.rawSdkTasksPerSecond,
      efficiency: throughput.efficiency,
      efficiencyRounds: throughput.efficiencyRounds,
      rounds: throughput.rounds,
    },
  };
  const targets = {
    singleCostAtMost3_6: singleCost.total <= 3.6,
    batchCostAtMost2_4: batchCost.total <= 2.4,
    idempotentSingleCostAtMost3: idempotentSingleCost.total <= 3,
    idempotentBatchCostAtMost1_85: idempotentBatchCost.total <= 1.85,
    wruAtMost2_5: single.requestsPerTask.dynamodbWru <= 2.5 && batch.requestsPerTask.dynamodbWru <= 2.5,
    efficiencyAtLeast0_7: throughput.efficiency >= 0.7,
  };
  const perColumn = (value: (p: ProfileResult) => number) => columns.map(value);
  const lines = [
    row(['per task', 'single submit', 'batch submit', 'idempotent single', 'idempotent batch']),
    row(['---', '---:', '---:', '---:', '---:']),
    row(['API Gateway requests', ...perColumn((p) => p.requestsPerTask.apiGateway)]),
    row(['Lambda invocations', ...perColumn((p) => p.requestsPerTask.lambdaInvocations)]),
    row(['SQS requests', ...perColumn((p) => p.requestsPerTask.sqs)]),
    row(['DynamoDB WRU', ...perColumn((p) => p.requestsPerTask.dynamodbWru)]),
    row(['DynamoDB RRU', ...perColumn((p) => p.requestsPerTask.dynamodbRru)]),
    row(['**$ per million tasks**', ...costs.map((c) => `**${c.total}**`)]),
    ...(Object.keys(singleCost.lines) as (keyof typeof singleCost.lines)[]).map((k) => row([`  ${k}`, ...costs.map((c) => c.lines[k])])),
    row(['tasks/s end to end', ...perColumn((p) => p.tasksPerSecond)]),
    '',
    `efficiency ${throughput.efficiency}, the median of ${throughput.efficiencyRounds.join(' / ')} (batch ${throughput.rounds
      .map((r) => r.tasksPerSecond)
      .join(' / ')} tasks/s vs ${throughput.rounds.map((r) => r.rawSdkTasksPerSecond).join(' / ')} tasks/s of the same raw SDK calls)`,
  ];
  return { profiles, json, targets, lines };
}

async function priorityIsolation(): Promise<{
  criticalWaitIdleMs: number;
  criticalWaitSaturatedMs: number;
  lowBacklog: number;
  perLane: ProfileResult['latencyMs'];
}> {
  const runtime = await startRuntime('priority');
  await warmUp(runtime);
  // Latency per lane at a moderate rate: 40 tasks per lane, four submitters.
  const mixed: string[] = [];
  await pool(
    Array.from({ length: 160 }, (_, i) => PRIORITIES[i % 4]),
    4,
    async (priority) => {
      mixed.push(((await post(runtime.url, '/tasks', { type: 'echo', priority })) as { id: string }).id);
    },
  );
  const perLane = laneLatencies(await waitAll(runtime.resources.tableName, mixed));
  const criticalWaits = async () => {
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { id } = (await post(runtime.url, '/tasks', { type: 'echo', priority: 'critical' })) as { id: string };
      const [task] = await waitAll(runtime.resources.tableName, [id]);
      waits.push((task.startedAt ?? 0) - task.createdAt);
    }
    return percentile(waits, 50);
  };
  const idle = await criticalWaits();
  // A low backlog well past what the low lane can run at once (5 invocations × 10 tasks).
  const backlog = quick ? 200 : 500;
  for (let i = 0; i < backlog; i += 100) {
    await post(runtime.url, '/tasks/batch', {
      tasks: Array.from({ length: Math.min(100, backlog - i) }, () => ({ type: 'sleep', payload: { ms: 3000 }, priority: 'low' })),
    });
  }
  await new Promise((r) => setTimeout(r, 1000));
  const saturated = await criticalWaits();
  await runtime.stop();
  return { criticalWaitIdleMs: idle, criticalWaitSaturatedMs: saturated, lowBacklog: backlog, perLane };
}

log(`${quick ? 'quick' : 'full'} run, ${TASKS} tasks per profile, emulator ${endpoint}`);
if (only === 'tenancy' || only === 'idle') {
  console.log(JSON.stringify(only === 'idle' ? await idleProfile() : await tenancyProfiles(), null, 2));
  await stopMoto?.();
  process.exit(0);
}
const machine = { node: process.version, cpus: (await import('node:os')).cpus().length, emulator: endpoint };
const perTask = perTaskReport(await perTaskProfiles());
// `--only cost`: the per-task cost profiles and the efficiency rounds, with their part of the JSON.
if (only === 'cost') {
  const partial = { date: new Date().toISOString(), quick, only, tasksPerProfile: TASKS, machine, prices: PRICES, ...perTask.json };
  console.log([...perTask.lines, `targets: ${targetLine(perTask.targets)}`].join('\n'));
  if (outFile) writeFileSync(outFile, `${JSON.stringify(partial, null, 2)}\n`);
  await stopMoto?.();
  process.exit(0);
}
const { single, batch } = perTask.profiles;
const priority = await priorityIsolation();
log(`critical wait: idle ${priority.criticalWaitIdleMs} ms, saturated ${priority.criticalWaitSaturatedMs} ms`);
const bundles = await measureBundles();
const idle = await idleProfile();
log(`idle: $${idle.usdPerMonth} a month`);
const schedules = await scheduleProfile();
log(`schedules: $${schedules.usdPerMillionTicks} per million ticks`);
const { fairness, limits } = await tenancyProfiles();
log(
  `fairness: small tenant p50 ${fairness.smallTenantWaitP50Ms} ms (idle ${fairness.idleWaitP50Ms} ms); limits: max ${limits.maxConcurrentObserved} at once, ${limits.maxStartsPerWindow} starts per window`,
);

const result = {
  date: new Date().toISOString(),
  quick,
  tasksPerProfile: TASKS,
  machine,
  prices: PRICES,
  ...perTask.json,
  latencyMs: { perLane: priority.perLane, singleProfile: single.latencyMs, batchProfile: batch.latencyMs },
  priority: {
    criticalWaitIdleMs: priority.criticalWaitIdleMs,
    criticalWaitSaturatedMs: priority.criticalWaitSaturatedMs,
    lowBacklog: priority.lowBacklog,
    ratio: round(priority.criticalWaitSaturatedMs / Math.max(1, priority.criticalWaitIdleMs), 2),
  },
  bundles,
  idle,
  // The scale model's rows from the counts measured above (single submit).
  scaleModel: (await import('./bench/scale-model.ts')).scaleModel({ perTask: single.requestsPerTask }).rows,
  schedules,
  fairness,
  limits,
  targets: {
    fairnessWithin2x: fairness.smallTenantWaitP50Ms <= 2 * Math.max(1, fairness.idleWaitP50Ms),
    limitsHeld: limits.maxConcurrentObserved <= limits.concurrencyLimit && limits.maxStartsPerWindow <= limits.rateLimit.limit,
    ...perTask.targets,
    priorityWithin2x: priority.criticalWaitSaturatedMs <= 2 * Math.max(1, priority.criticalWaitIdleMs),
    bundlesAtMost400KB: bundles.every((b) => b.bytes <= 400 * 1024),
    idleAtMost3UsdPerMonth: idle.usdPerMonth <= 3,
  },
};

/**
 * What the default deployment costs with nothing to do: its resources counted from the template,
 * and the sweeper's passes on an idle runtime metered for the reads, writes and receives they
 * make — one cadence of them at the deployed setting: the first runs the backstops, the rest not.
 */
async function idleProfile() {
  const everyPasses = SETTINGS.backstopEveryPasses.default;
  const local = process.env[SETTINGS.backstopEveryPasses.env];
  process.env[SETTINGS.backstopEveryPasses.env] = String(everyPasses);
  const runtime = await startRuntime('idle');
  const passes: { rru: number; wru: number; sqsRequests: number }[] = [];
  try {
    drainMeter();
    const sweeper = await import('#handlers/sweeper.ts');
    for (let i = 0; i < everyPasses; i++) {
      const done = await sweeper.handler();
      if (done.backstops !== (i === 0)) throw new Error(`idle: pass ${i + 1} ran the backstops: ${done.backstops}`);
      const metered = drainMeter();
      passes.push({
        rru: round(
          metered.reduce((n, m) => n + (m.rru ?? 0), 0),
          2,
        ),
        // The sweeper's writes when idle are the reconciliation's markers: a few bytes, a unit each.
        wru: metered.filter((m) => m.service === 'dynamodb' && /^(Put|Update|Delete)Item$/.test(m.operation) && m.failedWru === undefined)
          .length,
        sqsRequests: metered.filter((m) => m.service === 'sqs').reduce((n, m) => n + (m.sqsRequests ?? 1), 0),
      });
    }
  } finally {
    await runtime.stop();
    if (local === undefined) delete process.env[SETTINGS.backstopEveryPasses.env];
    else process.env[SETTINGS.backstopEveryPasses.env] = local;
  }
  const [withBackstops, plain] = passes;
  const backstop = {
    rru: round(withBackstops.rru - plain.rru, 2),
    wru: withBackstops.wru - plain.wru,
    sqsRequests: withBackstops.sqsRequests - plain.sqsRequests,
    everyPasses,
  };
  const { App } = await import('aws-cdk-lib');
  const { Template } = await import('aws-cdk-lib/assertions');
  const { SluiceStack } = await import('../lib/sluice-stack.ts');
  const { idleCost } = await import('./bench/idle.ts');
  const template = Template.fromStack(new SluiceStack(new App(), 'Idle')).toJSON() as { Resources: Record<string, { Type: string }> };
  return { ...idleCost(template.Resources, plain, backstop), sweeperPass: plain, sweeperBackstops: backstop };
}

/** What a schedule tick costs (its task excluded: that is a task like any other). */
async function scheduleProfile() {
  const runtime = await startRuntime('ticks');
  try {
    const { scheduleTickCost } = await import('./bench/schedule-ticks.ts');
    return await scheduleTickCost({
      url: runtime.url,
      streamArn: runtime.resources.streamArn,
      memoryGb: FUNCTION_MEMORY_GB,
      waitFinished: async (id) => {
        await waitAll(runtime.resources.tableName, [id], 30_000);
      },
    });
  } finally {
    await runtime.stop();
  }
}

/** Fair share and limits (their own runtimes: a backlog must not slow the other profiles). */
async function tenancyProfiles() {
  const { fairnessProfile, limitsProfile, summarizeFairness } = await import('./bench/tenancy.ts');
  const run = async <T>(name: string, profile: (deps: Parameters<typeof fairnessProfile>[0]) => Promise<T>): Promise<T> => {
    const runtime = await startRuntime(name);
    try {
      await warmUp(runtime);
      return await profile({
        url: runtime.url,
        readTasks: (ids) => readTasks(runtime.resources.tableName, ids),
        drainWorkerMeter: () => runtime.workerMeter.splice(0, runtime.workerMeter.length).length,
      });
    } finally {
      await runtime.stop();
    }
  };
  const fairnessRounds = [];
  for (let round = 1; round <= 3; round++) {
    const measured = await run(`fair${round}`, (deps) => fairnessProfile(deps, quick ? 400 : 2000));
    log(`fairness round ${round}: small tenant p50 ${measured.smallTenantWaitP50Ms} ms, idle ${measured.idleWaitP50Ms} ms`);
    fairnessRounds.push(measured);
  }
  const fairness = summarizeFairness(fairnessRounds);
  const limits = await run('limits', (deps) => limitsProfile(deps, quick ? 40 : 200));
  return { fairness, limits };
}

const lines = [
  `Sluice benchmark — ${result.date} — ${TASKS} tasks per profile${quick ? ' (quick)' : ''}, Node ${process.version}`,
  '',
  ...perTask.lines,
  `critical submit→start: idle ${priority.criticalWaitIdleMs} ms, with ${priority.lowBacklog} low tasks backed up ${priority.criticalWaitSaturatedMs} ms`,
  `latency p50/p99 submit→start by lane (160 mixed tasks): ${Object.entries(priority.perLane)
    .map(([p, l]) => `${p} ${l.submitToStartP50}/${l.submitToStartP99}`)
    .join(', ')} ms`,
  `latency p50/p99 submit→finish under load: single ${single.latencyMs.normal?.submitToFinishP50}/${single.latencyMs.normal?.submitToFinishP99} ms, batch ${batch.latencyMs.normal?.submitToFinishP50}/${batch.latencyMs.normal?.submitToFinishP99} ms`,
  `bundles: ${bundles.map((b) => `${b.name} ${(b.bytes / 1024).toFixed(0)} KB (${b.initMs} ms)`).join(', ')}`,
  `schedules: $${schedules.usdPerMillionTicks} per million ticks (${schedules.perTick.dynamodbWru} WRU, ${schedules.perTick.dynamodbRru} RRU, fire ${schedules.perTick.fireMs} ms; the tasks they create cost as above)`,
  `fairness: behind ${fairness.backlog} tasks of tenant A, tenant B's p50/p99 submit→start ${fairness.smallTenantWaitP50Ms}/${fairness.smallTenantWaitP99Ms} ms (idle ${fairness.idleWaitP50Ms} ms, ${fairness.ratio}×), the median of ${fairness.rounds.map((r) => `${r.smallTenantWaitP50Ms}/${r.idleWaitP50Ms}`).join(', ')} ms; A ran ${fairness.bigTenantTasksPerSecond} tasks/s`,
  `limits: limit 1 → at most ${limits.maxConcurrentObserved} at once; rate ${limits.rateLimit.limit}/${limits.rateLimit.periodSeconds}s → at most ${limits.maxStartsPerWindow} starts in a window; requests per task ${limits.requestsPerUnlimitedTask} unlimited, ${limits.requestsPerLimitedTask} under a limit of 1 with ${limits.limitedTasks} queued (+${limits.extraRequestsPerLimitedTask})`,
  `idle: $${idle.usdPerMonth}/month — ${idle.breakdown.map((l) => `${l.item} $${l.usdPerMonth} (${l.basis})`).join('; ')}`,
  `targets: ${targetLine(result.targets)}`,
];
console.log(lines.join('\n'));
if (outFile) writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
await stopMoto?.();
process.exit(0);
