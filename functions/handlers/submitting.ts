/**
 * What creates tasks: the submitter (with the task types' schemas), task control, and schedule
 * firing. Only the intake and the fire function import it, so no other bundle carries the schemas.
 */

import { BatchAdmission, LimitCatalog } from '#core/admission.ts';
import { dynamo } from '#core/clients.ts';
import { tableName } from '#core/config.ts';
import { TaskControl } from '#core/control.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { LimitStore } from '#core/limit-store.ts';
import { ScheduleFiring } from '#core/schedule-firing.ts';
import { ScheduleStore } from '#core/schedule-store.ts';
import { readSettings } from '#core/settings.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { taskRegistry } from '#tasks/index.ts';
import { getStore, perEnvironment } from './services.ts';

export const getSubmitting = perEnvironment(() => {
  const store = getStore();
  const limits = new LimitStore(dynamo(), tableName());
  const settings = readSettings(['limitsCacheMs', 'tenantConcurrency', 'tenantLaneSharePercent']);
  const catalog = new LimitCatalog(limits, settings.limitsCacheMs);
  const submitter = new TaskSubmitter(
    store,
    new IdempotencyStore(dynamo(), tableName()),
    taskRegistry,
    process.env.SLUICE_CONTAINERS === 'enabled',
    catalog,
    new BatchAdmission(limits, catalog, settings),
  );
  const control = new TaskControl(store);
  const schedules = new ScheduleStore(dynamo(), tableName());
  return { store, submitter, control, schedules, limits, catalog, firing: new ScheduleFiring(schedules, store, submitter, control) };
});
