/**
 * What users do with limits: set, read (with current usage), list, delete. A limit is one
 * definition item; admission and the rate gate read it (cached) and keep their own state items.
 * Deleting or raising a limit wakes the tasks waiting for it.
 */
import type { Admission, LimitCatalog } from './admission.ts';
import { InvalidRequest, LimitNotFound } from './errors.ts';
import type { LimitStore, LimitUsage } from './limit-store.ts';
import { DEFAULT_TENANT } from './model.ts';
import { parseOrThrow } from './submission.ts';
import { LIMIT_SCOPES, type LimitDefinition, type LimitScope, LimitUpdateSchema, limitId, TENANT_KEY_PATTERN } from './tenancy.ts';

export interface LimitDetail {
  definition: Omit<LimitDefinition, 'updatedAt' | 'updatedBy'> & Partial<Pick<LimitDefinition, 'updatedAt' | 'updatedBy'>>;
  /** `api`: set through the API; `default`: a tenant's deployment default (SLUICE_TENANT_CONCURRENCY). */
  source: 'api' | 'default';
  usage: LimitUsage;
}

export class LimitControl {
  constructor(
    private readonly limits: LimitStore,
    private readonly admission: Admission,
    private readonly catalog: LimitCatalog,
    private readonly tenantConcurrency: number,
  ) {}

  static notFound(scope: string, key: string): LimitNotFound {
    return new LimitNotFound(scope, key);
  }

  /** The scope and key of a path, or a 404 for one no limit can have. */
  static target(scope: string, key: string): { scope: LimitScope; key: string } {
    if (!(LIMIT_SCOPES as readonly string[]).includes(scope) || !TENANT_KEY_PATTERN.test(key)) throw new LimitNotFound(scope, key);
    return { scope: scope as LimitScope, key };
  }

  async put(scope: LimitScope, key: string, body: unknown, actor: string, now = Date.now()): Promise<LimitDetail> {
    const update = parseOrThrow(LimitUpdateSchema, body);
    if (update.concurrency === undefined && update.rate === undefined) throw new InvalidRequest('give concurrency, rate or both');
    if (scope === 'tenant' && key === DEFAULT_TENANT) {
      throw new InvalidRequest('the default tenant takes no limit: tasks without a tenant pay nothing for tenancy; give them a tenant');
    }
    const current = await this.limits.definition(scope, key);
    const next: LimitDefinition = { scope, key, updatedAt: now, updatedBy: actor };
    const concurrency = update.concurrency === undefined ? current?.concurrency : (update.concurrency ?? undefined);
    const rate = update.rate === undefined ? current?.rate : (update.rate ?? undefined);
    if (concurrency !== undefined) next.concurrency = concurrency;
    if (rate !== undefined) next.rate = rate;
    if (next.concurrency === undefined && next.rate === undefined) {
      throw new InvalidRequest('a limit needs concurrency or rate (DELETE removes one)');
    }
    await this.limits.putDefinition(next);
    this.catalog.invalidate();
    // A raised or removed concurrency limit lets waiting tasks try again.
    if ((current?.concurrency ?? 0) > 0 && (next.concurrency === undefined || next.concurrency > (current?.concurrency ?? 0))) {
      await this.admission.wakeAll(limitId(scope, key), now);
    }
    return this.detail(next, 'api', now);
  }

  async get(scope: LimitScope, key: string, now = Date.now()): Promise<LimitDetail> {
    const definition = await this.limits.definition(scope, key);
    if (definition) return this.detail(definition, 'api', now);
    if (scope === 'tenant' && key !== DEFAULT_TENANT && this.tenantConcurrency > 0) {
      return this.detail({ scope, key, concurrency: this.tenantConcurrency }, 'default', now);
    }
    throw new LimitNotFound(scope, key);
  }

  async list(now = Date.now()): Promise<LimitDetail[]> {
    const definitions = await this.limits.definitions();
    return Promise.all(definitions.map((d) => this.detail(d, 'api', now)));
  }

  async delete(scope: LimitScope, key: string, now = Date.now()): Promise<void> {
    if (!(await this.limits.deleteDefinition(scope, key))) throw new LimitNotFound(scope, key);
    this.catalog.invalidate();
    await this.admission.wakeAll(limitId(scope, key), now);
  }

  private async detail(definition: LimitDetail['definition'], source: LimitDetail['source'], now: number): Promise<LimitDetail> {
    const id = limitId(definition.scope, definition.key);
    const [state, waiting] = await Promise.all([this.limits.state(id), this.limits.waiting(id)]);
    const period = (definition.rate?.periodSeconds ?? 0) * 1000;
    return {
      definition,
      source,
      usage: { running: state.running, startsInPeriod: state.rate.recent.filter((t) => t > now - period).length, waiting },
    };
  }
}
