/**
 * Tenants and limits, the pure part: which limits apply to a task, and their ids.
 *
 * A limit counts tasks by one of their keys: `tenant`, `key` (the task's concurrencyKey) or
 * `type`. Limits come from the limits API (one item per scope and key), from the deployment's
 * default per tenant, from the task's type (`defineTask({concurrency, rateLimit})`, counted apart
 * from API limits so a request can never raise them), and the fair share: each tenant may hold at
 * most a share of its lane's task capacity, so another tenant always finds room.
 */
import * as z from 'zod/mini';
import { decodeEvent, prioritiesChanged } from './history.ts';
import { LANES, type LaneName, laneFor } from './lanes.ts';
import { DEFAULT_TENANT, type DeclaredLimits, type LimitKey, type Priority, type TaskRecord } from './model.ts';
import { TIMEOUT_TO_CONTAINER } from './retrying.ts';

/** The actor admission writes history entries as. */
export const ADMISSION_ACTOR = 'system:admission';

/** Where limit definitions live (the dispatcher's stream filter names it). */
export const LIMIT_DEFINITIONS_PARTITION = 'LIMITDEF';

export const LIMIT_SCOPES = ['tenant', 'key', 'type'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

/** Tenants and concurrency keys: 1–64 characters of A–Z a–z 0–9 . _ : - */
export const TENANT_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;
export const TenantKeySchema = z.string().check(z.regex(TENANT_KEY_PATTERN, '1–64 characters of A-Z, a-z, 0-9, ".", "_", ":" and "-"'));

export const RateSchema = z.strictObject({
  limit: z.number().check(z.int(), z.minimum(1), z.maximum(10_000)),
  periodSeconds: z.number().check(z.int(), z.minimum(1), z.maximum(86_400)),
});
export type Rate = z.infer<typeof RateSchema>;

export const LimitUpdateSchema = z.strictObject({
  concurrency: z.optional(z.nullable(z.number().check(z.int(), z.minimum(1), z.maximum(10_000)))),
  rate: z.optional(z.nullable(RateSchema)),
});

/** A limit set through the API. */
export interface LimitDefinition {
  scope: LimitScope;
  key: string;
  concurrency?: number;
  rate?: Rate;
  updatedAt: number;
  updatedBy: string;
}

/** One limit as admission and the worker apply it. */
export interface AppliedLimit {
  /** Where its state lives (LIMIT#<id>): `tenant#acme`, `type#export`, `declared#export#tenant#acme`, `lane#low#acme`. */
  id: string;
  /** What a waiting task shows (`waitingFor`). */
  scope: string;
  key: string;
  concurrency?: number;
  rate?: Rate;
}

export interface TenancySettings {
  /** Concurrency of a tenant without an explicit limit (0: unlimited). */
  tenantConcurrency: number;
  /** The share of a lane's task capacity one tenant may hold, in percent. */
  tenantLaneSharePercent: number;
}

export const limitId = (scope: string, key: string): string => `${scope}#${key}`;
/** A type's declared limit is counted apart from the API's limit of the same scope and key. */
const declaredLimitId = (type: string, scope: string, key: string): string => `declared#${type}#${limitId(scope, key)}`;

/** A lane's task capacity: its concurrent invocations times the tasks each runs at once. */
export function laneCapacity(lane: LaneName): number {
  const definition = LANES.find((l) => l.name === lane);
  return definition ? definition.maxConcurrency * definition.batchSize : 0;
}

/** How many tasks of one tenant a lane admits at once. */
export const fairShare = (lane: LaneName, percent: number): number => Math.max(1, Math.floor((laneCapacity(lane) * percent) / 100));

const keyOf = (task: Pick<TaskRecord, 'tenant' | 'concurrencyKey' | 'type'>, key: LimitKey): string | undefined =>
  key === 'tenant' ? (task.tenant ?? DEFAULT_TENANT) : key === 'concurrencyKey' ? task.concurrencyKey : task.type;

const SCOPE_OF: Record<LimitKey, LimitScope> = { tenant: 'tenant', concurrencyKey: 'key', type: 'type' };

/** Whether a task must go through admission at all (decided at intake, stored as `limited`). */
export function needsAdmission(
  task: Pick<TaskRecord, 'tenant' | 'concurrencyKey' | 'type'> & { typeLimits?: DeclaredLimits },
  catalog: ReadonlyMap<string, LimitDefinition>,
): boolean {
  return (
    task.tenant !== undefined ||
    task.concurrencyKey !== undefined ||
    task.typeLimits !== undefined ||
    catalog.has(limitId('type', task.type))
  );
}

/**
 * Every limit that applies to a task now (the catalog is the API's limits). Concurrency limits are
 * taken at dispatch; rate limits are checked when the attempt starts.
 */
export function limitsFor(task: TaskRecord, catalog: ReadonlyMap<string, LimitDefinition>, settings: TenancySettings): AppliedLimit[] {
  const applied: AppliedLimit[] = [];
  const fromApi = (scope: LimitScope, key: string | undefined, fallbackConcurrency?: number) => {
    if (key === undefined) return;
    const defined = catalog.get(limitId(scope, key));
    const concurrency = defined?.concurrency ?? fallbackConcurrency;
    if (concurrency || defined?.rate) {
      applied.push({
        id: limitId(scope, key),
        scope,
        key,
        ...(concurrency ? { concurrency } : {}),
        ...(defined?.rate ? { rate: defined.rate } : {}),
      });
    }
  };
  if (task.tenant !== undefined) fromApi('tenant', task.tenant, settings.tenantConcurrency || undefined);
  fromApi('key', task.concurrencyKey);
  fromApi('type', task.type);
  const declared = task.typeLimits;
  for (const [kind, limit] of [
    ['concurrency', declared?.concurrency],
    ['rate', declared?.rateLimit],
  ] as const) {
    if (!limit) continue;
    const key = keyOf(task, limit.key);
    if (key === undefined) continue;
    const scope = SCOPE_OF[limit.key];
    applied.push({
      id: declaredLimitId(task.type, scope, key),
      scope,
      key,
      ...(kind === 'concurrency'
        ? { concurrency: limit.limit }
        : { rate: { limit: limit.limit, periodSeconds: (limit as { periodSeconds: number }).periodSeconds } }),
    });
  }
  const share = laneShareLimit(laneFor(task.priority, task.runtime), task.tenant, settings);
  if (share) applied.push(share);
  return applied;
}

/** A tenant's fair share of a lane as a concurrency limit (none for the default tenant, or a lane with no capacity). */
function laneShareLimit(lane: LaneName, tenant: string | undefined, settings: TenancySettings): AppliedLimit | undefined {
  if (tenant === undefined || laneCapacity(lane) === 0) return undefined;
  return { ...laneShare(lane, tenant), concurrency: fairShare(lane, settings.tenantLaneSharePercent) };
}

/**
 * The lanes other than its current one whose fair share a task may still hold a slot of: every
 * lane its history shows it in. A priority change (`priority:a>b`, `aging:a>b`) moves a queued
 * task to another lane with a new version, admitted on the new lane's share; a running one runs on
 * in the lane it started in, holding that slot, and a takeover of it after a lost worker runs from
 * the same lane's message; a Lambda attempt's timeout can send the next attempt to a container.
 * Which of those lanes' slots it holds now is not written anywhere, so a release gives back all
 * of them but the current one: giving back a slot the task does not hold changes nothing.
 */
export function formerLanes(task: TaskRecord): LaneName[] {
  if (task.tenant === undefined) return [];
  const priorities = new Set<Priority>();
  let wasLambda = false;
  for (const line of task.history) {
    const { reason } = decodeEvent(line);
    if (reason === TIMEOUT_TO_CONTAINER) wasLambda = true;
    for (const priority of prioritiesChanged(reason)) priorities.add(priority);
  }
  if (wasLambda) priorities.add(task.priority);
  const lanes = new Set<LaneName>();
  for (const priority of priorities) {
    lanes.add(laneFor(priority, task.runtime));
    if (wasLambda) lanes.add(laneFor(priority, 'lambda'));
  }
  lanes.delete(laneFor(task.priority, task.runtime));
  return [...lanes];
}

/** The fair-share limits of a task's former lanes (formerLanes). */
export function formerLaneShares(task: TaskRecord, settings: TenancySettings): AppliedLimit[] {
  return formerLanes(task).flatMap((lane) => laneShareLimit(lane, task.tenant, settings) ?? []);
}

/** The fair-share limit of one tenant in one lane: its id and what a task waiting for it shows. */
const laneShare = (lane: LaneName, tenant: string) => ({ id: `lane#${lane}#${tenant}`, scope: 'lane', key: `${lane}/${tenant}` });

/**
 * The limits a task's `waitingFor` may name (the ids of their waiter partitions), from the task
 * alone: a type's declared limit and the API's limit share a scope and key, so both are named.
 */
export function waitedLimitIds(task: TaskRecord): string[] {
  const waitingFor = task.waitingFor;
  if (!waitingFor) return [];
  if (waitingFor.scope === 'lane') {
    const share = task.tenant === undefined ? undefined : laneShare(laneFor(task.priority, task.runtime), task.tenant);
    return share?.key === waitingFor.key ? [share.id] : [];
  }
  // The API's tenant limit applies only to a task with a tenant (limitsFor); a declared one to any.
  const ids = waitingFor.scope === 'tenant' && task.tenant === undefined ? [] : [limitId(waitingFor.scope, waitingFor.key)];
  const declared = task.typeLimits?.concurrency;
  if (declared && SCOPE_OF[declared.key] === waitingFor.scope && keyOf(task, declared.key) === waitingFor.key) {
    ids.push(declaredLimitId(task.type, waitingFor.scope, waitingFor.key));
  }
  return ids;
}
