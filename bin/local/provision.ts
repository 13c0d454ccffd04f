/**
 * Creates what the stack defines, from the same definitions (lanes, table shape), in whatever
 * endpoint the SDK points at. Idempotent: existing resources are reused.
 */
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, DeleteRoleCommand, EntityAlreadyExistsException, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  DeleteEventSourceMappingCommand,
  DeleteFunctionCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  ResourceConflictException,
} from '@aws-sdk/client-lambda';
import {
  ConflictException,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LANES, type LaneName, laneDlqName, laneQueueName } from '#core/lanes.ts';
import { laneVisibilitySeconds, MAX_SQS_RETENTION_SECONDS, WORKER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { TASK_TABLE } from '#core/table.ts';

export interface Provisioned {
  tableName: string;
  streamArn: string;
  queueUrls: Record<LaneName, string>;
  queueArns: Record<LaneName, string>;
  dlqUrls: Record<LaneName, string>;
  dlqArns: Record<LaneName, string>;
  /** The EventBridge Scheduler schedule group the stack owns. */
  scheduleGroup: string;
  /** Each lane's event source mapping (UUID), registered with the Lambda API: its Enabled switch pauses the lane (none unless SLUICE_LOCAL_MAPPINGS=on). */
  mappings: Partial<Record<LaneName, string>>;
  /** The functions and role the mappings name (they only exist for the mappings: their code never runs there). */
  functionNames: string[];
  roleName: string | undefined;
}

export interface ProvisionOptions {
  prefix: string;
  /** The worker function's timeout, which worker lanes take as their visibility timeout (as on AWS). @default 900 */
  workerTimeoutSeconds?: number;
}

const region = () => process.env.AWS_REGION ?? 'us-east-1';

/**
 * Create a queue, or bring an existing one in line with these attributes: an endpoint that keeps
 * its queues between runs (LocalStack, a shared emulator) refuses CreateQueue with other attributes.
 */
async function ensureQueue(sqs: SQSClient, name: string, attributes: Partial<Record<QueueAttributeName, string>>) {
  let url: string | undefined;
  try {
    url = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl;
  } catch (error) {
    if (!/QueueNameExists|QueueAlreadyExists/.test((error as Error).name)) throw error;
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  }
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  return { url: url as string, arn: arn as string };
}

export async function provision({ prefix, workerTimeoutSeconds = WORKER_TIMEOUT_SECONDS }: ProvisionOptions): Promise<Provisioned> {
  const dynamodb = new DynamoDBClient({ region: region() });
  const sqs = new SQSClient({ region: region(), useQueueUrlAsEndpoint: false });
  const tableName = `${prefix}-tasks`;
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TASK_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: TASK_TABLE.sortKey, AttributeType: 'S' },
          { AttributeName: TASK_TABLE.sweepIndex.partitionKey, AttributeType: 'S' },
          { AttributeName: TASK_TABLE.sweepIndex.sortKey, AttributeType: 'N' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: TASK_TABLE.sweepIndex.name,
            KeySchema: [
              { AttributeName: TASK_TABLE.sweepIndex.partitionKey, KeyType: 'HASH' },
              { AttributeName: TASK_TABLE.sweepIndex.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        KeySchema: [
          { AttributeName: TASK_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TASK_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: TASK_TABLE.streamViewType },
      }),
    );
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TASK_TABLE.timeToLiveAttribute },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  let table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  while (table?.TableStatus !== 'ACTIVE') {
    await new Promise((r) => setTimeout(r, 200));
    table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  }
  const queueUrls = {} as Record<LaneName, string>;
  const queueArns = {} as Record<LaneName, string>;
  const dlqUrls = {} as Record<LaneName, string>;
  const dlqArns = {} as Record<LaneName, string>;
  const retention = String(MAX_SQS_RETENTION_SECONDS);
  await Promise.all(
    LANES.map(async (lane) => {
      const dlq = await ensureQueue(sqs, laneDlqName(prefix, lane.name), { MessageRetentionPeriod: retention });
      const queue = await ensureQueue(sqs, laneQueueName(prefix, lane.name), {
        VisibilityTimeout: String(laneVisibilitySeconds(lane.consumer, workerTimeoutSeconds)),
        MessageRetentionPeriod: retention,
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: lane.maxReceiveCount }),
      });
      queueUrls[lane.name] = queue.url;
      queueArns[lane.name] = queue.arn;
      dlqUrls[lane.name] = dlq.url;
      dlqArns[lane.name] = dlq.arn;
    }),
  );
  const scheduleGroup = `${prefix}-schedules`;
  const scheduler = new SchedulerClient({ region: region() });
  try {
    await scheduler.send(new CreateScheduleGroupCommand({ Name: scheduleGroup }));
  } catch (error) {
    if (!(error instanceof ConflictException)) throw error;
  }
  dynamodb.destroy();
  sqs.destroy();
  scheduler.destroy();
  // Only on the project's own moto, which stores SQS mappings without running them: an endpoint
  // that runs them (LocalStack, stock moto, an account) would run the placeholders against the
  // lanes — failed invocations, receives counted toward the DLQ. Whoever boots that moto says so.
  const { mappings, functionNames, roleName } =
    process.env[LOCAL_MAPPINGS_ENV] === 'on'
      ? await registerMappings(prefix, queueArns)
      : { mappings: {}, functionNames: [], roleName: undefined };
  return {
    tableName,
    streamArn: table.LatestStreamArn as string,
    queueUrls,
    queueArns,
    dlqUrls,
    dlqArns,
    scheduleGroup,
    mappings,
    functionNames,
    roleName,
  };
}

/** `on`: register each lane's event source mapping with the endpoint's Lambda API (set by whoever boots the project's moto). */
export const LOCAL_MAPPINGS_ENV = 'SLUICE_LOCAL_MAPPINGS';

/** The smallest valid zip archive (an empty one): the registered functions' code never runs. */
const EMPTY_ZIP = Uint8Array.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

/**
 * Register each lane's event source mapping with the Lambda API, as the stack creates them, so the
 * pause switch is the same API call here as on AWS. The emulator stores mappings and never runs
 * them (bin/moto-server.py); the runtime's pollers read their Enabled state.
 */
async function registerMappings(prefix: string, queueArns: Record<LaneName, string>) {
  const iam = new IAMClient({ region: region() });
  const lambda = new LambdaClient({ region: region() });
  const roleName = `${prefix}-functions`;
  try {
    let roleArn: string;
    try {
      const created = await iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
      roleArn = created.Role?.Arn as string;
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
      roleArn = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role?.Arn as string;
    }
    const consumers = { worker: `${prefix}-worker`, launcher: `${prefix}-launcher` } as const;
    for (const name of Object.values(consumers)) {
      try {
        await lambda.send(
          new CreateFunctionCommand({
            FunctionName: name,
            Role: roleArn,
            Runtime: 'nodejs22.x',
            Handler: 'index.handler',
            Code: { ZipFile: EMPTY_ZIP },
          }),
        );
      } catch (error) {
        if (!(error instanceof ResourceConflictException)) throw error;
      }
    }
    const mappings = {} as Record<LaneName, string>;
    for (const lane of LANES) {
      const functionName = consumers[lane.consumer];
      const existing = await lambda.send(
        new ListEventSourceMappingsCommand({ FunctionName: functionName, EventSourceArn: queueArns[lane.name] }),
      );
      const found = existing.EventSourceMappings?.find((m) => m.EventSourceArn === queueArns[lane.name])?.UUID;
      mappings[lane.name] =
        found ??
        ((
          await lambda.send(
            new CreateEventSourceMappingCommand({
              FunctionName: functionName,
              EventSourceArn: queueArns[lane.name],
              BatchSize: lane.batchSize,
              Enabled: true,
            }),
          )
        ).UUID as string);
    }
    return { mappings, functionNames: Object.values(consumers), roleName };
  } finally {
    iam.destroy();
    lambda.destroy();
  }
}

/** Delete what `provision` created (tests and ephemeral runtimes leave nothing behind). */
export async function deprovision(resources: Provisioned): Promise<void> {
  const dynamodb = new DynamoDBClient({ region: region() });
  const sqs = new SQSClient({ region: region(), useQueueUrlAsEndpoint: false });
  const scheduler = new SchedulerClient({ region: region() });
  const lambda = new LambdaClient({ region: region() });
  const iam = new IAMClient({ region: region() });
  try {
    for (;;) {
      const out = await scheduler.send(new ListSchedulesCommand({ GroupName: resources.scheduleGroup })).catch(() => undefined);
      const names = (out?.Schedules ?? []).map((s) => s.Name);
      for (const name of names)
        await scheduler.send(new DeleteScheduleCommand({ GroupName: resources.scheduleGroup, Name: name })).catch(() => {});
      if (names.length === 0 || !out?.NextToken) break;
    }
    await scheduler.send(new DeleteScheduleGroupCommand({ Name: resources.scheduleGroup })).catch(() => {});
    await dynamodb.send(new DeleteTableCommand({ TableName: resources.tableName })).catch(() => {});
    for (const uuid of Object.values(resources.mappings))
      await lambda.send(new DeleteEventSourceMappingCommand({ UUID: uuid })).catch(() => {});
    for (const name of resources.functionNames) await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    if (resources.roleName) await iam.send(new DeleteRoleCommand({ RoleName: resources.roleName })).catch(() => {});
    for (const url of [...Object.values(resources.queueUrls), ...Object.values(resources.dlqUrls)]) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
    }
  } finally {
    dynamodb.destroy();
    sqs.destroy();
    scheduler.destroy();
    lambda.destroy();
    iam.destroy();
  }
}
