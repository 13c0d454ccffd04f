/**
 * Every tunable setting, defined once: its environment variable, its default, its bounds, who
 * reads it and what it means. Functions read theirs once per environment (readSettings, at cold
 * start), the stack writes them from its props, and a test checks the README's configuration
 * table against this one.
 */
import { DEFAULT_RECOVERIES_PER_PASS } from './attention.ts';
import { ConfigurationError } from './config.ts';
import { DEFAULT_WRITE_SHARDS } from './ids.ts';
import {
  DEFAULT_CONTAINER_CAP,
  DEFAULT_LAZY_START_MS,
  DEFAULT_RECOVERY_SECONDS,
  MIN_RECOVERY_SECONDS,
  SCHEDULER_MIN_EVERY_SECONDS,
  WORKER_TIMEOUT_SECONDS,
} from './limits.ts';

export interface SettingDefinition {
  readonly env: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Who reads it (the README's "where" column). */
  readonly readBy: readonly string[];
  readonly meaning: string;
}

export const SETTINGS = {
  recoverySeconds: {
    env: 'SLUICE_RECOVERY_SECONDS',
    default: DEFAULT_RECOVERY_SECONDS,
    min: MIN_RECOVERY_SECONDS,
    max: 3600,
    readBy: ['worker', 'runner', 'launcher', 'sweeper', 'npm start'],
    meaning: 'the recovery bound: leases are 40 % of it, held visibility the lease + 1 s (the stack sets it from `recoverySeconds`)',
  },
  workerTimeoutSeconds: {
    env: 'SLUICE_WORKER_TIMEOUT_SECONDS',
    default: WORKER_TIMEOUT_SECONDS,
    min: 1,
    max: WORKER_TIMEOUT_SECONDS,
    readBy: ['worker', 'sweeper', 'npm start'],
    meaning: "the worker function's timeout, and the worker lanes' visibility timeout",
  },
  cancelGraceMs: {
    env: 'SLUICE_CANCEL_GRACE_MS',
    default: 5000,
    min: 0,
    max: 600_000,
    readBy: ['worker', 'runner'],
    meaning: 'how long a cancelled or timed-out task may ignore its signal',
  },
  controlPollMs: {
    env: 'SLUICE_CONTROL_POLL_MS',
    default: 2000,
    min: 0,
    max: 600_000,
    readBy: ['worker'],
    meaning: 'control-request polling of tasks that report no progress (0: never)',
  },
  lazyStartMs: {
    env: 'SLUICE_LAZY_START_MS',
    default: DEFAULT_LAZY_START_MS,
    min: 0,
    max: 60_000,
    readBy: ['worker'],
    meaning: 'an idempotent task that finishes within this costs one state write (0: always write the start first)',
  },
  containerCap: {
    env: 'CONTAINER_CAP',
    default: DEFAULT_CONTAINER_CAP,
    min: 1,
    max: 10_000,
    readBy: ['launcher', 'runner', 'sweeper'],
    meaning: 'most containers at once (the stack sets it from `longJobs.cap`)',
  },
  listLookbackDays: {
    env: 'LIST_LOOKBACK_DAYS',
    default: 30,
    min: 1,
    max: 366,
    readBy: ['intake'],
    meaning: 'how many days back `GET /tasks` walks',
  },
  minEverySeconds: {
    env: 'SLUICE_MIN_EVERY_SECONDS',
    default: SCHEDULER_MIN_EVERY_SECONDS,
    min: 1,
    max: SCHEDULER_MIN_EVERY_SECONDS,
    readBy: ['intake', 'npm start'],
    meaning: "the shortest `every` a schedule takes: EventBridge Scheduler's minute on AWS, 5 s under `npm start`",
  },
  tenantConcurrency: {
    env: 'SLUICE_TENANT_CONCURRENCY',
    default: 0,
    min: 0,
    max: 100_000,
    readBy: ['intake', 'dispatcher'],
    meaning: 'tasks one tenant may run at once without a limit of its own (0: unlimited; the stack sets it from `tenantConcurrency`)',
  },
  tenantLaneSharePercent: {
    env: 'SLUICE_TENANT_LANE_SHARE_PERCENT',
    default: 80,
    min: 1,
    max: 100,
    readBy: ['intake', 'dispatcher'],
    meaning: "the share of a lane's task capacity one tenant may hold, so another tenant always finds room",
  },
  limitsCacheMs: {
    env: 'SLUICE_LIMITS_CACHE_MS',
    default: 15_000,
    min: 0,
    max: 600_000,
    readBy: ['intake', 'schedule fire', 'dispatcher'],
    meaning: "how long a function keeps the limits API's limits before reading them again (a new limit applies within it)",
  },
  operationsCacheMs: {
    env: 'SLUICE_OPERATIONS_CACHE_MS',
    default: 60_000,
    min: 0,
    max: 600_000,
    readBy: ['operations', 'npm start'],
    meaning:
      "how long the operations function shares the lanes' ages and the stats it read from CloudWatch (billed per metric read; SQS publishes ages each minute); the local runtime uses 1 s",
  },
  writeShards: {
    env: 'SLUICE_WRITE_SHARDS',
    default: DEFAULT_WRITE_SHARDS,
    min: 1,
    // Ids could name 776 (ID_SHARD_CAPACITY); past 128 the listing's fan-out (a Query per shard
    // and day walked) costs more than the write rate it buys (128 keys take 64,000 WCU/s at half).
    max: 128,
    readBy: ['intake', 'schedule fire', 'worker', 'sweeper'],
    meaning:
      "partition keys per day that new tasks are spread over (each takes at most 1,000 write units a second); every listing page costs one Query per shard and day it walks; only raise it on a live deployment: lowering hides the higher shards' tasks from listings and the reconciliation (the stack sets it from `writeShards`)",
  },
  backstopEveryPasses: {
    env: 'SLUICE_BACKSTOP_EVERY_PASSES',
    default: 5,
    min: 1,
    max: 60,
    readBy: ['sweeper', 'npm start'],
    meaning:
      'the sweeper runs its backstops (the reconciliation, draining the DLQs, looking at the failure queues) every this many passes: every 5 minutes on AWS; the local runtime uses 1',
  },
  recoveriesPerPass: {
    env: 'SLUICE_RECOVERIES_PER_PASS',
    default: DEFAULT_RECOVERIES_PER_PASS,
    min: 0,
    max: 10_000,
    readBy: ['sweeper'],
    meaning: 'recoveries in one sweeper pass beyond which the attention alarm goes off (the stack sets it from `recoveriesPerPass`)',
  },
  sweepIntervalMs: {
    env: 'SLUICE_SWEEP_INTERVAL_MS',
    default: 5000,
    min: 100,
    max: 3_600_000,
    readBy: ['npm start'],
    meaning: 'how often the local sweeper runs (every minute on AWS)',
  },
} as const satisfies Record<string, SettingDefinition>;

export type SettingName = keyof typeof SETTINGS;
export type Settings<K extends SettingName> = { readonly [P in K]: number };

/** Read and validate settings from the environment; all problems are reported together. */
export function readSettings<K extends SettingName>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Settings<K> {
  const problems: string[] = [];
  const values = {} as Record<K, number>;
  for (const name of names) {
    const definition: SettingDefinition = SETTINGS[name];
    const raw = env[definition.env];
    const value = raw === undefined || raw === '' ? definition.default : Number(raw);
    // Every setting is a whole number (counts, shards, milliseconds, seconds, percent).
    if (!Number.isInteger(value) || value < definition.min || value > definition.max) {
      problems.push(`${definition.env} must be a whole number from ${definition.min} to ${definition.max}, got "${raw}"`);
    }
    values[name] = value;
  }
  if (problems.length > 0) throw new ConfigurationError(problems.join('; '));
  return values;
}

/** The environment that carries these settings to a function (the stack writes it). */
export function settingsEnvironment(values: Partial<Settings<SettingName>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [SETTINGS[name as SettingName].env, String(value)]),
  );
}

/** A construct prop that sets a setting: a whole number within the setting's bounds, or an error naming the prop. */
export function checkSettingProp(owner: string, prop: string, name: SettingName, value: number | undefined): void {
  if (value === undefined) return;
  const { min, max } = SETTINGS[name];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${owner}: ${prop} must be a whole number from ${min} to ${max}, got ${value}`);
  }
}
