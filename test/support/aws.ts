/** Per-test-file AWS resources: each file gets its own table and lanes, and removes them after. */
import { randomBytes } from 'node:crypto';
import { LANES, laneDlqEnv, laneQueueEnv } from '#core/lanes.ts';
import { deprovision, type Provisioned, provision } from '../../bin/local/provision.ts';

export const uniquePrefix = (name: string): string => `t${randomBytes(3).toString('hex')}-${name}`;

export interface TestResources extends Provisioned {
  cleanup(): Promise<void>;
}

/** Provision, and point the handlers' environment at what was provisioned. */
export async function provisionForTest(name: string): Promise<TestResources> {
  const resources = await provision({ prefix: uniquePrefix(name) });
  process.env.TABLE_NAME = resources.tableName;
  for (const lane of LANES) {
    process.env[laneQueueEnv(lane.name)] = resources.queueUrls[lane.name];
    process.env[laneDlqEnv(lane.name)] = resources.dlqUrls[lane.name];
  }
  return { ...resources, cleanup: () => deprovision(resources) };
}

/** Every item in a test table (tests only: the product never scans). */
export async function tableItems(tableName: string): Promise<Record<string, unknown>[]> {
  const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
  const { dynamo } = await import('#core/clients.ts');
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo().send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A test file's own table and lanes, with the store and submitter the handlers would use. */
export async function storesForTest(name: string, listLookbackDays?: number) {
  const { dynamo } = await import('#core/clients.ts');
  const { TaskStore } = await import('#core/store.ts');
  const { TaskSubmitter } = await import('#core/submission.ts');
  const { IdempotencyStore } = await import('#core/idempotency.ts');
  const { taskRegistry } = await import('#tasks/index.ts');
  const resources = await provisionForTest(name);
  const store = new TaskStore(dynamo(), resources.tableName, listLookbackDays);
  const submitter = new TaskSubmitter(store, new IdempotencyStore(dynamo(), resources.tableName), taskRegistry);
  return { resources, store, submitter };
}
