/**
 * The scale model: from the live configuration — the lanes (functions/core/lanes.ts), the write
 * shards (SLUICE_WRITE_SHARDS), the dispatcher's stream mapping and the API stage's throttling as
 * the stack deploys them — and per-task request counts, which AWS limit binds first at a sustained
 * rate, what lifts it, and what a million tasks cost. Pure: it calls nothing. `npm run bench --
 * --scale-model` prints it, the bench's JSON carries its rows (from the counts it measured), and
 * the README's "At scale" section is its output (test/unit/scale-model.test.ts keeps them equal).
 *
 * Every limit is linear in the load except the stream's shard count, so "binds first" is the limit
 * furthest past its target at that load.
 */
import { DISPATCHER_STREAM_MAPPING } from '#core/dispatch.ts';
import { LANES, type LaneName } from '#core/lanes.ts';
import { DEFAULT_API_THROTTLING } from '#core/limits.ts';
import { DEFAULT_RECONCILE } from '#core/reconcile.ts';
import { readSettings, SETTINGS } from '#core/settings.ts';
import { SWEEP_SHARDS } from '#core/sweep-index.ts';
import { PRICES, TASK_COMPUTE, taskCostLines } from './prices.ts';

/**
 * AWS's documented figures (default quotas where they can be raised).
 * - Partitions: each serves at most 1,000 write units and 3,000 read units a second, whatever
 *   adaptive capacity does; ids start with their time, so a day-and-shard key's writes all land at
 *   the end of its sort range and a split cannot spread them:
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html
 * - On-demand tables: 40,000 write units a second per table by default (a raisable quota); a new
 *   table takes 4,000 at once and doubles its previous peak within 30 minutes:
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html
 * - Stream mappings: ParallelizationFactor 1 (default) to 10 concurrent batches per shard:
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
 * - SQS mappings: MaximumConcurrency 2–1,000; standard mode starts at five concurrent batches and
 *   adds up to 300 a minute, to at most 1,000 per mapping; provisioned mode (cannot be combined
 *   with MaximumConcurrency) sets up to 2,000 pollers of about 5 MB/s each:
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html,
 *   https://docs.aws.amazon.com/lambda/latest/api/API_ProvisionedPollerConfig.html
 * - SQS standard queues: nearly unlimited requests a second; about 120,000 messages in flight:
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
 * - Lambda: 1,000 concurrent executions per Region by default (raisable); each function scales by
 *   1,000 environments every 10 s: https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
 * - API Gateway: 10,000 requests a second per account and Region across HTTP, REST and WebSocket
 *   APIs (raisable), burst 5,000; a stage's throttling cannot exceed it:
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
 */
export const AWS_LIMITS = {
  partitionWriteUnits: 1000,
  partitionReadUnits: 3000,
  tableWriteUnits: 40_000,
  maxParallelizationFactor: 10,
  mappingMaxConcurrency: 1000,
  mappingScaleUpPerMinute: 300,
  queueInFlightMessages: 120_000,
  lambdaConcurrency: 1000,
  apiRequestsPerSecond: 10_000,
  apiBurst: 5000,
  /** Entries of one SendMessageBatch, ReceiveMessage, DeleteMessageBatch or ChangeMessageVisibilityBatch. */
  sqsBatchEntries: 10,
} as const;

/** The goal: no partition key above half its limit (room for an uneven spread and retries). */
export const PARTITION_KEY_TARGET = 0.5;
/** Every other limit may run to 80 %: headroom for bursts and for the mappings' scaling ramp. */
export const HEADROOM_TARGET = 0.8;

/**
 * How long things take on AWS. Not measured (the emulator here is far slower than AWS): single-digit
 * millisecond DynamoDB writes and SQS calls of about 10–20 ms, rounded up.
 */
export interface Timings {
  /** A task's own run: the cost model's task (bin/bench/prices.ts). */
  readonly taskSeconds: number;
  /** A worker batch beyond its tasks (run in parallel): the visibility change, start and outcome writes. */
  readonly workerOverheadSeconds: number;
  /** One API request: validation and one PutItem (BatchWriteItem for a batch). */
  readonly intakeSeconds: number;
  /** One dispatcher batch: its SendMessageBatch calls, in parallel. */
  readonly dispatcherBatchSeconds: number;
  /** A task's state item (the design keeps it under 1 KB), for the reconciliation's reads. */
  readonly taskItemBytes: number;
}

export const DEFAULT_TIMINGS: Timings = {
  taskSeconds: TASK_COMPUTE.seconds,
  workerOverheadSeconds: 0.05,
  intakeSeconds: 0.05,
  dispatcherBatchSeconds: 0.1,
  taskItemBytes: 1024,
};

/** Requests per task, in the shape the bench measures them (`requestsPerTask` of a profile). */
export interface PerTaskRequests {
  readonly apiGateway: number;
  readonly lambdaInvocations: number;
  readonly sqs: number;
  readonly dynamodbWru: number;
  /** `table`: on the task's own item (its partition key); `index`: the sweep index; failed conditions are billed and land on the item too. */
  readonly dynamodbWruBreakdown: { readonly table: number; readonly index: number; readonly failedConditions: number };
  readonly dynamodbRru: number;
}

/** Which lanes the tasks go to (shares summing to 1): by default all at the default priority. */
export type LaneShares = Readonly<Partial<Record<LaneName, number>>>;
export const DEFAULT_LANE_SHARES: LaneShares = { normal: 1 };

/**
 * State writes of a task with an exclusive start, as the code makes them: the intake's PutItem, the
 * start (QUEUED → RUNNING) and the outcome, each one write unit (the item stays under 1 KB). An
 * ordinary task writes nothing to the sweep index and reads nothing (the start returns the item).
 */
export const STATE_WRITES_PER_TASK = 3;
/** A delayed task enters the sweep index when it is written SCHEDULED and leaves it when it is queued. */
export const DELAYED_TASK_INDEX_WRITES = 2;

/**
 * Requests per single-submitted task at full batches, counted from the code path: one API request
 * and intake invocation, a dispatcher invocation per stream batch, a worker invocation per lane
 * batch; SQS: the dispatcher's SendMessageBatch per 10, and per worker batch a ReceiveMessage, a
 * ChangeMessageVisibilityBatch (the held visibility) and a DeleteMessageBatch.
 */
export function countedPerTask(shares: LaneShares = DEFAULT_LANE_SHARES): PerTaskRequests {
  const perLaneBatch = workerLanes(shares).reduce((n, { lane, share }) => n + share / lane.batchSize, 0);
  return {
    apiGateway: 1,
    lambdaInvocations: 1 + 1 / DISPATCHER_STREAM_MAPPING.batchSize + perLaneBatch,
    sqs: 1 / AWS_LIMITS.sqsBatchEntries + 3 * perLaneBatch,
    dynamodbWru: STATE_WRITES_PER_TASK,
    dynamodbWruBreakdown: { table: STATE_WRITES_PER_TASK, index: 0, failedConditions: 0 },
    dynamodbRru: 0,
  };
}

export interface LaneConfiguration {
  readonly name: LaneName;
  readonly batchSize: number;
  readonly maxConcurrency: number;
}

/** What the model reads of a deployment. */
export interface ScaleConfiguration {
  readonly writeShards: number;
  readonly sweepShards: number;
  /** The worker lanes (the long lane runs containers, which this model leaves out). */
  readonly lanes: readonly LaneConfiguration[];
  readonly dispatcher: { readonly batchSize: number; readonly parallelizationFactor: number };
  /** The API stage's steady requests a second. */
  readonly apiRateLimit: number;
  readonly quotas: { readonly lambdaConcurrency: number; readonly apiRequestsPerSecond: number; readonly tableWriteUnits: number };
}

/** The configuration this code deploys (the write shards from the environment, as the functions read them). */
export function liveConfiguration(env: NodeJS.ProcessEnv = process.env): ScaleConfiguration {
  return {
    writeShards: readSettings(['writeShards'], env).writeShards,
    sweepShards: SWEEP_SHARDS,
    lanes: LANES.filter((l) => l.consumer === 'worker').map(({ name, batchSize, maxConcurrency }) => ({ name, batchSize, maxConcurrency })),
    dispatcher: { ...DISPATCHER_STREAM_MAPPING },
    apiRateLimit: DEFAULT_API_THROTTLING.rateLimit,
    quotas: {
      lambdaConcurrency: AWS_LIMITS.lambdaConcurrency,
      apiRequestsPerSecond: AWS_LIMITS.apiRequestsPerSecond,
      tableWriteUnits: AWS_LIMITS.tableWriteUnits,
    },
  };
}

/** A change to a deployment: stack settings, account quotas, or code (`sweepShards`, `parallelizationFactor`). */
export interface ScaleChange {
  readonly writeShards?: number;
  readonly laneConcurrency?: Readonly<Partial<Record<LaneName, number>>>;
  readonly apiRateLimit?: number;
  readonly quotas?: Partial<ScaleConfiguration['quotas']>;
  readonly sweepShards?: number;
  readonly parallelizationFactor?: number;
}

export function applyChange(config: ScaleConfiguration, change: ScaleChange): ScaleConfiguration {
  return {
    writeShards: change.writeShards ?? config.writeShards,
    sweepShards: change.sweepShards ?? config.sweepShards,
    lanes: config.lanes.map((lane) => ({ ...lane, maxConcurrency: change.laneConcurrency?.[lane.name] ?? lane.maxConcurrency })),
    dispatcher: { ...config.dispatcher, parallelizationFactor: change.parallelizationFactor ?? config.dispatcher.parallelizationFactor },
    apiRateLimit: change.apiRateLimit ?? config.apiRateLimit,
    quotas: { ...config.quotas, ...change.quotas },
  };
}

/** How a limit is lifted: a stack setting, an account quota (Service Quotas), or a change of design or code. */
export type LiftKind = 'setting' | 'quota' | 'design';

export interface LimitUse {
  readonly id: string;
  readonly name: string;
  /** AWS's figure (or Sluice's, for its own settings). */
  readonly figure: string;
  /** What the configuration gives (`8 keys a day`). */
  readonly provided: string;
  readonly utilisation: number;
  readonly target: number;
  readonly binds: boolean;
  /** At this load, what brings it back within its target (only when it binds). */
  readonly lift?: { readonly kind: LiftKind; readonly change: ScaleChange; readonly text?: string };
}

export interface ScaleRow {
  readonly tasksPerSecond: number;
  /** The limit furthest past its target (with its use of its limit), or `none` with the nearest one. */
  readonly bindingLimit: string;
  /** Everything that must change for this load to run within every target (`none`). */
  readonly change: string;
  readonly usdPerMillion: number;
  /** True when every change is a setting or a quota: no code changes. */
  readonly configurationOnly: boolean;
  readonly proposed: ScaleChange;
  readonly limits: readonly LimitUse[];
}

export interface ScaleModelInput {
  readonly loads?: readonly number[];
  readonly configuration?: ScaleConfiguration;
  readonly perTask?: PerTaskRequests;
  readonly laneShares?: LaneShares;
  readonly timings?: Timings;
}

export interface ScaleModel {
  readonly configuration: ScaleConfiguration;
  readonly perTask: PerTaskRequests;
  readonly laneShares: LaneShares;
  readonly timings: Timings;
  /** The cost per million tasks, by line (USD). */
  readonly costLines: Readonly<Record<string, number>>;
  readonly rows: readonly ScaleRow[];
  /** Delayed tasks a second the sweep index takes within its target (each writes it twice). */
  readonly delayedTasksPerSecondAtTarget: number;
}

export const DEFAULT_LOADS = [100, 1000, 10_000] as const;

export function scaleModel(input: ScaleModelInput = {}): ScaleModel {
  const configuration = input.configuration ?? liveConfiguration();
  const laneShares = input.laneShares ?? DEFAULT_LANE_SHARES;
  const perTask = input.perTask ?? countedPerTask(laneShares);
  const timings = input.timings ?? DEFAULT_TIMINGS;
  const costLines = costPerMillion(perTask, timings);
  const usdPerMillion = round(
    Object.values(costLines).reduce((a, b) => a + b, 0),
    2,
  );
  const rows = (input.loads ?? DEFAULT_LOADS).map((load) => {
    const limits = limitsAt(load, configuration, perTask, laneShares, timings);
    const binding = limits.filter((l) => l.binds).sort((a, b) => b.utilisation / b.target - a.utilisation / a.target);
    const nearest = [...limits].sort((a, b) => b.utilisation / b.target - a.utilisation / a.target)[0];
    const proposed = mergeChanges(binding.flatMap((l) => (l.lift ? [l.lift.change] : [])));
    const designs = binding.flatMap((l) => (l.lift?.kind === 'design' && l.lift.text ? [l.lift.text] : []));
    return {
      tasksPerSecond: load,
      bindingLimit: binding[0]
        ? `${binding[0].name} at ${percent(binding[0].utilisation)}`
        : `none (nearest: ${nearest.name} at ${percent(nearest.utilisation)})`,
      change: [...describeChange(proposed, configuration), ...designs].join('; ') || 'none',
      usdPerMillion,
      configurationOnly: designs.length === 0,
      proposed,
      limits,
    };
  });
  return {
    configuration,
    perTask,
    laneShares,
    timings,
    costLines,
    rows,
    delayedTasksPerSecondAtTarget: Math.floor(
      (configuration.sweepShards * AWS_LIMITS.partitionWriteUnits * PARTITION_KEY_TARGET) / DELAYED_TASK_INDEX_WRITES,
    ),
  };
}

function limitsAt(load: number, config: ScaleConfiguration, perTask: PerTaskRequests, shares: LaneShares, timings: Timings): LimitUse[] {
  const { table, index, failedConditions } = perTask.dynamodbWruBreakdown;
  const keyWrites = load * (table + failedConditions);
  // The reconciliation looks at every task at each rung (DEFAULT_RECONCILE); the first rung reads
  // today's keys, the ones being written. A Query is billed on the items it reads, filtered or not.
  const lookRru = (timings.taskItemBytes / 4096) * 0.5;
  const keyReads = load * (perTask.dynamodbRru + lookRru);
  const apiRequests = load * perTask.apiGateway;
  const workerBatchSeconds = timings.taskSeconds + timings.workerOverheadSeconds;
  const lanes = workerLanes(shares, config.lanes);
  const laneInvocations = lanes.map(({ lane, share }) => ({ lane, concurrent: ((load * share) / lane.batchSize) * workerBatchSeconds }));
  const dispatcherConcurrent = (load / config.dispatcher.batchSize) * timings.dispatcherBatchSeconds;

  const uses: LimitUse[] = [];
  const add = (use: Omit<LimitUse, 'binds' | 'lift'>, lift: () => NonNullable<LimitUse['lift']>) => {
    const binds = use.utilisation > use.target;
    uses.push({ ...use, binds, ...(binds ? { lift: lift() } : {}) });
  };
  const shardsFor = (units: number, perKey: number) => Math.ceil(units / (perKey * PARTITION_KEY_TARGET));
  const shardLift = (needed: number): NonNullable<LimitUse['lift']> =>
    needed <= SETTINGS.writeShards.max
      ? { kind: 'setting', change: { writeShards: needed } }
      : {
          kind: 'design',
          change: { writeShards: SETTINGS.writeShards.max },
          text: `${needed} write shards (past the setting's ${SETTINGS.writeShards.max}): fewer writes per task (idempotent types write 2) or keys that spread wider`,
        };

  add(
    {
      id: 'partition-key-writes',
      name: 'DynamoDB writes per partition key',
      figure: '1,000 WCU/s',
      provided: `${config.writeShards} keys a day`,
      utilisation: keyWrites / config.writeShards / AWS_LIMITS.partitionWriteUnits,
      target: PARTITION_KEY_TARGET,
    },
    () => shardLift(shardsFor(keyWrites, AWS_LIMITS.partitionWriteUnits)),
  );
  add(
    {
      id: 'partition-key-reads',
      name: 'DynamoDB reads per partition key',
      figure: '3,000 RCU/s',
      provided: `${config.writeShards} keys a day`,
      utilisation: keyReads / config.writeShards / AWS_LIMITS.partitionReadUnits,
      target: PARTITION_KEY_TARGET,
    },
    () => shardLift(shardsFor(keyReads, AWS_LIMITS.partitionReadUnits)),
  );
  const indexWrites = load * index;
  add(
    {
      id: 'sweep-index-writes',
      name: 'sweep index writes per partition key',
      figure: '1,000 WCU/s',
      provided: `${config.sweepShards} keys`,
      utilisation: indexWrites / config.sweepShards / AWS_LIMITS.partitionWriteUnits,
      target: PARTITION_KEY_TARGET,
    },
    () => {
      const needed = shardsFor(indexWrites, AWS_LIMITS.partitionWriteUnits);
      return { kind: 'design', change: { sweepShards: needed }, text: `SWEEP_SHARDS ≥ ${needed} (functions/core/sweep-index.ts)` };
    },
  );
  add(
    {
      id: 'table-writes',
      name: 'DynamoDB table writes',
      figure: '40,000 WCU/s on demand (quota)',
      provided: `${fmt(config.quotas.tableWriteUnits)} WCU/s`,
      utilisation: keyWrites / config.quotas.tableWriteUnits,
      target: HEADROOM_TARGET,
    },
    () => ({ kind: 'quota', change: { quotas: { tableWriteUnits: Math.ceil(keyWrites / HEADROOM_TARGET) } } }),
  );

  // About one stream shard per table partition (AWS does not document the count), and a partition
  // takes at most 1,000 WCU/s: this many shards at least. A shard's batches run one at a time unless
  // ParallelizationFactor allows more, and one key's records always in order: the concurrent
  // batches are bounded by both.
  const streamShards = Math.max(1, Math.ceil(keyWrites / AWS_LIMITS.partitionWriteUnits));
  const byShards = streamShards * config.dispatcher.parallelizationFactor;
  const perBatch = config.dispatcher.batchSize / timings.dispatcherBatchSeconds;
  add(
    {
      id: 'stream-dispatch',
      name: 'dispatcher stream batches',
      figure: 'ParallelizationFactor ≤ 10 a shard; in order per key',
      provided: `${config.dispatcher.batchSize} a batch, factor ${config.dispatcher.parallelizationFactor}`,
      utilisation: load / (Math.min(byShards, config.writeShards) * perBatch),
      target: HEADROOM_TARGET,
    },
    () => {
      const batches = Math.ceil(load / (perBatch * HEADROOM_TARGET));
      if (config.writeShards < batches && config.writeShards < byShards) return { kind: 'setting', change: { writeShards: batches } };
      const factor = Math.ceil(batches / streamShards);
      return factor <= AWS_LIMITS.maxParallelizationFactor
        ? {
            kind: 'design',
            change: { parallelizationFactor: factor },
            text: `ParallelizationFactor ≥ ${factor} (functions/core/dispatch.ts)`,
          }
        : { kind: 'design', change: {}, text: 'a faster dispatcher batch, or a second stream reader' };
    },
  );

  for (const { lane, concurrent } of laneInvocations) {
    add(
      {
        id: `lane-${lane.name}`,
        name: `lane ${lane.name} concurrency`,
        figure: 'MaximumConcurrency ≤ 1,000',
        provided: `${lane.maxConcurrency} × ${lane.batchSize} tasks`,
        utilisation: concurrent / lane.maxConcurrency,
        target: HEADROOM_TARGET,
      },
      () => {
        const needed = Math.max(2, Math.ceil(concurrent / HEADROOM_TARGET));
        return needed <= AWS_LIMITS.mappingMaxConcurrency
          ? { kind: 'setting', change: { laneConcurrency: { [lane.name]: needed } } }
          : {
              kind: 'design',
              change: { laneConcurrency: { [lane.name]: AWS_LIMITS.mappingMaxConcurrency } },
              text: `${needed} concurrent ${lane.name} batches (past a mapping's 1,000): provisioned mode or more lanes`,
            };
      },
    );
    const inFlight = concurrent * lane.batchSize;
    add(
      {
        id: `queue-in-flight-${lane.name}`,
        name: `SQS messages in flight, lane ${lane.name}`,
        figure: '≈ 120,000 a queue',
        provided: '1 queue',
        utilisation: inFlight / AWS_LIMITS.queueInFlightMessages,
        target: HEADROOM_TARGET,
      },
      () => ({ kind: 'design', change: {}, text: `more queues for lane ${lane.name}` }),
    );
  }

  const concurrency = apiRequests * timings.intakeSeconds + dispatcherConcurrent + laneInvocations.reduce((n, l) => n + l.concurrent, 0);
  add(
    {
      id: 'lambda-concurrency',
      name: 'Lambda concurrent executions',
      figure: '1,000 (quota)',
      provided: fmt(config.quotas.lambdaConcurrency),
      utilisation: concurrency / config.quotas.lambdaConcurrency,
      target: HEADROOM_TARGET,
    },
    () => ({ kind: 'quota', change: { quotas: { lambdaConcurrency: Math.ceil(concurrency / HEADROOM_TARGET) } } }),
  );
  add(
    {
      id: 'api-stage',
      name: 'API stage throttling',
      figure: 'a Sluice setting',
      provided: `${fmt(config.apiRateLimit)} rps`,
      utilisation: apiRequests / config.apiRateLimit,
      target: HEADROOM_TARGET,
    },
    () => ({ kind: 'setting', change: { apiRateLimit: Math.ceil(apiRequests / HEADROOM_TARGET) } }),
  );
  add(
    {
      id: 'api-account',
      name: 'API Gateway account rate',
      figure: '10,000 rps (quota)',
      provided: `${fmt(config.quotas.apiRequestsPerSecond)} rps`,
      utilisation: apiRequests / config.quotas.apiRequestsPerSecond,
      target: HEADROOM_TARGET,
    },
    () => ({ kind: 'quota', change: { quotas: { apiRequestsPerSecond: Math.ceil(apiRequests / HEADROOM_TARGET) } } }),
  );
  return uses;
}

/** The cost per million tasks by line: the bench's lines (bin/bench.ts) plus the reconciliation's reads. */
function costPerMillion(perTask: PerTaskRequests, timings: Timings): Record<string, number> {
  const looks = DEFAULT_RECONCILE.rungsMs.length;
  const lines = {
    ...taskCostLines(perTask),
    // The bench leaves the sweeper out (a fixed cost at its rates); at scale its looks are per task.
    reconcileReads: looks * (timings.taskItemBytes / 4096) * 0.5 * PRICES.dynamodbPerRru,
  };
  return Object.fromEntries(Object.entries(lines).map(([k, v]) => [k, round(v * 1e6, 3)]));
}

function workerLanes(shares: LaneShares, lanes: readonly LaneConfiguration[] = LANES.filter((l) => l.consumer === 'worker')) {
  return lanes.flatMap((lane) => {
    const share = shares[lane.name] ?? 0;
    return share > 0 ? [{ lane, share }] : [];
  });
}

/** One change out of several: the largest figure for each thing. */
function mergeChanges(changes: readonly ScaleChange[]): ScaleChange {
  const max = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
  return changes.reduce<ScaleChange>((merged, c) => {
    const lanes = { ...merged.laneConcurrency };
    for (const [lane, n] of Object.entries(c.laneConcurrency ?? {}) as [LaneName, number][]) lanes[lane] = max(lanes[lane], n);
    const quotas = { ...merged.quotas };
    for (const [name, n] of Object.entries(c.quotas ?? {}) as [keyof ScaleConfiguration['quotas'], number][])
      quotas[name] = max(quotas[name], n);
    const out: Record<string, unknown> = {
      writeShards: max(merged.writeShards, c.writeShards),
      sweepShards: max(merged.sweepShards, c.sweepShards),
      parallelizationFactor: max(merged.parallelizationFactor, c.parallelizationFactor),
      apiRateLimit: max(merged.apiRateLimit, c.apiRateLimit),
      ...(Object.keys(lanes).length ? { laneConcurrency: lanes } : {}),
      ...(Object.keys(quotas).length ? { quotas } : {}),
    };
    return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as ScaleChange;
  }, {});
}

/** The settings and quotas of a change, as a deployer would write them (design changes are described by their limits). */
function describeChange(change: ScaleChange, config: ScaleConfiguration): string[] {
  const parts: string[] = [];
  if (change.writeShards !== undefined && change.writeShards > config.writeShards) parts.push(`writeShards ≥ ${change.writeShards}`);
  for (const [lane, n] of Object.entries(change.laneConcurrency ?? {})) parts.push(`laneConcurrency.${lane} ≥ ${fmt(n)}`);
  if (change.apiRateLimit !== undefined) parts.push(`apiThrottling.rateLimit ≥ ${fmt(change.apiRateLimit)}`);
  const { quotas } = change;
  if (quotas?.apiRequestsPerSecond !== undefined) {
    parts.push(`API Gateway quota ≥ ${fmt(quotas.apiRequestsPerSecond)} rps (or batch submits: 100 tasks a request)`);
  }
  if (quotas?.lambdaConcurrency !== undefined) parts.push(`Lambda concurrency quota ≥ ${fmt(quotas.lambdaConcurrency)}`);
  if (quotas?.tableWriteUnits !== undefined) parts.push(`table write quota ≥ ${fmt(quotas.tableWriteUnits)} WCU/s`);
  return parts;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const fmt = (n: number) => n.toLocaleString('en-US');
const percent = (u: number) => `${fmt(Math.round(u * 100))} %`;

/** The model as the README shows it: the rows, then each limit's use at each load. */
export function scaleModelMarkdown(model: ScaleModel): string {
  const { configuration: c, perTask: p } = model;
  const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  const loads = model.rows.map((r) => r.tasksPerSecond);
  const lanes = c.lanes.map((l) => `${l.name} ${l.maxConcurrency}`).join(' · ');
  const shares = Object.entries(model.laneShares)
    .map(([lane, share]) => `${Math.round((share ?? 0) * 100)} % ${lane}`)
    .join(', ');
  const lines = [
    `Configuration: ${c.writeShards} write shards, ${c.sweepShards} sweep shards; lane concurrency ${lanes}; dispatcher batches of ${c.dispatcher.batchSize}, ParallelizationFactor ${c.dispatcher.parallelizationFactor}; API stage ${fmt(c.apiRateLimit)} rps. ` +
      `Per task: ${fmt(p.apiGateway)} API request, ${round(p.lambdaInvocations, 3)} invocations, ${round(p.sqs, 3)} SQS requests, ${round(p.dynamodbWru, 3)} WRU, ${round(p.dynamodbRru, 3)} RRU; tasks ${shares}.`,
    '',
    row(['tasks/s', 'binds first', 'what lifts it', 'configuration only', '$ per million']),
    row(['---:', '---', '---', '---', '---:']),
    ...model.rows.map((r) =>
      row([fmt(r.tasksPerSecond), r.bindingLimit, r.change, r.configurationOnly ? 'yes' : 'no', r.usdPerMillion.toFixed(2)]),
    ),
    '',
    row(['limit', 'AWS figure', 'here', 'target', ...loads.map((l) => `${fmt(l)}/s`)]),
    row(['---', '---', '---', '---:', ...loads.map(() => '---:')]),
    ...model.rows[0].limits.map((limit, i) =>
      row([
        limit.name,
        limit.figure,
        limit.provided,
        `≤ ${percent(limit.target)}`,
        ...model.rows.map((r) => {
          const use = r.limits[i];
          return use.binds ? `**${percent(use.utilisation)}**` : percent(use.utilisation);
        }),
      ]),
    ),
  ];
  return lines.join('\n');
}
