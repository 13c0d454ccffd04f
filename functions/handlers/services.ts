/** What handlers share, built once per process (per environment) from the environment. */
import { dynamo } from '#core/clients.ts';
import { tableName } from '#core/config.ts';
import { readSettings } from '#core/settings.ts';
import { TaskStore } from '#core/store.ts';

/**
 * A value built once per environment: Lambda gives each process one, but the local runtime and the
 * benchmark may point a process at another table, and a stale client must not outlive that.
 */
export function perEnvironment<T>(build: () => T): () => T {
  let key: string | undefined;
  let value: T | undefined;
  return () => {
    const current = `${process.env.TABLE_NAME}|${process.env.LANE_NORMAL_URL}`;
    if (value === undefined || key !== current) {
      value = build();
      key = current;
    }
    return value;
  };
}

/** The task store, for every handler. */
export const getStore = perEnvironment(() => {
  const { listLookbackDays, writeShards } = readSettings(['listLookbackDays', 'writeShards']);
  return new TaskStore(dynamo(), tableName(), listLookbackDays, writeShards);
});
