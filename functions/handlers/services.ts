/** The stores and services a handler needs, built once per process from the environment. */
import { dynamo } from '#core/clients.ts';
import { numberEnv, tableName } from '#core/config.ts';
import { TaskControl } from '#core/control.ts';
import { IdempotencyStore } from '#core/idempotency.ts';
import { TaskStore } from '#core/store.ts';
import { TaskSubmitter } from '#core/submission.ts';
import { taskRegistry } from '#tasks/index.ts';

export interface Services {
  store: TaskStore;
  submitter: TaskSubmitter;
  control: TaskControl;
}

let services: Services | undefined;

export function getServices(): Services {
  if (!services) {
    const store = new TaskStore(dynamo(), tableName(), numberEnv('LIST_LOOKBACK_DAYS', 30));
    services = {
      store,
      submitter: new TaskSubmitter(
        store,
        new IdempotencyStore(dynamo(), tableName()),
        taskRegistry,
        process.env.SLUICE_CONTAINERS === 'enabled',
      ),
      control: new TaskControl(store),
    };
  }
  return services;
}
