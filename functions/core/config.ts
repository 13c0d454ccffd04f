/**
 * Configuration read from the environment through typed helpers that fail loudly, once per
 * process (handlers call these lazily so tests and the local runtime can set the environment first).
 */
import { FAILURE_QUEUE_ENV, type FailureQueue } from './attention.ts';
import { LANE_NAMES, type LaneName, laneDlqEnv, laneMappingEnv, laneQueueEnv } from './lanes.ts';

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

export const tableName = (): string => requiredEnv('TABLE_NAME');

export function laneQueueUrls(): Record<LaneName, string> {
  return Object.fromEntries(LANE_NAMES.map((lane) => [lane, requiredEnv(laneQueueEnv(lane))])) as Record<LaneName, string>;
}

/** Each consumed lane's event source mapping UUID (its pause switch); a lane without a consumer has none. */
export function laneMappings(): Partial<Record<LaneName, string>> {
  return Object.fromEntries(
    LANE_NAMES.flatMap((lane) => {
      const uuid = process.env[laneMappingEnv(lane)];
      return uuid ? [[lane, uuid]] : [];
    }),
  );
}

/** Each lane's queue and dead-letter queue (GET /lanes). */
export function laneQueuesWithDlq(): Record<LaneName, { url: string; dlqUrl: string }> {
  return Object.fromEntries(
    LANE_NAMES.map((lane) => [lane, { url: requiredEnv(laneQueueEnv(lane)), dlqUrl: requiredEnv(laneDlqEnv(lane)) }]),
  ) as Record<LaneName, { url: string; dlqUrl: string }>;
}

/**
 * The URL of the lane queue an SQS event came from (events carry the queue's ARN). Matched by
 * queue name against the lanes this function knows; otherwise built from the ARN as SQS does.
 */
export function laneQueueUrlForArn(arn: string): string {
  const [, , , region, account, name] = arn.split(':');
  const known = LANE_NAMES.map((lane) => process.env[laneQueueEnv(lane)]).find((url) => url?.endsWith(`/${name}`));
  return known ?? `https://sqs.${region}.amazonaws.com/${account}/${name}`;
}

/** Where the stack's EventBridge Scheduler schedules live and fire (set on the sync function and the sweeper). */
export function schedulerTarget(): { group: string; functionArn: string; roleArn: string; deadLetterArn?: string } | undefined {
  const group = process.env.SCHEDULE_GROUP;
  if (!group) return undefined;
  return {
    group,
    functionArn: requiredEnv('SCHEDULE_FUNCTION_ARN'),
    roleArn: requiredEnv('SCHEDULE_ROLE_ARN'),
    ...(process.env.SCHEDULE_DLQ_ARN ? { deadLetterArn: process.env.SCHEDULE_DLQ_ARN } : {}),
  };
}

/** The environment variables schedulerTarget reads, for the stack and the local runtime to write. */
export const SCHEDULER_TARGET_ENV = {
  group: 'SCHEDULE_GROUP',
  functionArn: 'SCHEDULE_FUNCTION_ARN',
  roleArn: 'SCHEDULE_ROLE_ARN',
  deadLetterArn: 'SCHEDULE_DLQ_ARN',
} as const;

/** Each lane's dead-letter queue (the sweeper drains them). */
export function laneDlqUrls(): Record<LaneName, string> {
  return Object.fromEntries(LANE_NAMES.map((lane) => [lane, requiredEnv(laneDlqEnv(lane))])) as Record<LaneName, string>;
}

/** The failure queues the deployment has (the sweeper looks at them): unset ones it has not. */
export function failureQueueUrls(): Partial<Record<FailureQueue, string>> {
  return Object.fromEntries(
    (Object.entries(FAILURE_QUEUE_ENV) as [FailureQueue, string][]).flatMap(([queue, env]) =>
      process.env[env] ? [[queue, process.env[env]]] : [],
    ),
  );
}
