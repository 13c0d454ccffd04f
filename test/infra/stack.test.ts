import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_QUEUE_ENV } from '#core/attention.ts';
import { DISPATCHER_TIMEOUT_SECONDS } from '#core/dispatch.ts';
import { LANES, laneDefinition, laneDlqEnv } from '#core/lanes.ts';
import {
  LAUNCHER_TIMEOUT_SECONDS,
  laneVisibilitySeconds,
  SCHEDULE_FIRE_TIMEOUT_SECONDS,
  SCHEDULE_SYNC_TIMEOUT_SECONDS,
  SWEEPER_TIMEOUT_SECONDS,
  WORKER_TIMEOUT_SECONDS,
} from '#core/limits.ts';
import { SluiceStack } from '../../lib/sluice-stack.ts';

let template: Template;
beforeAll(() => {
  const app = new App();
  template = Template.fromStack(new SluiceStack(app, 'Test'));
});

const resourcesOf = (type: string) => Object.entries(template.findResources(type));
const policyStatementsOf = (roleLogicalIdPrefix: string) =>
  resourcesOf('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
const actionsOf = (roleLogicalIdPrefix: string) => policyStatementsOf(roleLogicalIdPrefix).flatMap((s) => [s.Action].flat());

/** `actions` on exactly the five lane mappings (four worker lanes and the long lane's launcher), by ARN, and their UUIDs in the function's environment. */
function expectTheLaneMappings(functionId: string, actions: readonly string[]): void {
  const statements = policyStatementsOf(functionId).filter((st) => [st.Action].flat().some((a: string) => a.startsWith('lambda:')));
  expect(new Set(statements.flatMap((st) => [st.Action].flat()))).toEqual(new Set(actions));
  const mappingArns = statements.flatMap((st) => [st.Resource].flat());
  const mappingIds = resourcesOf('AWS::Lambda::EventSourceMapping')
    .filter(([, m]) => /WorkWorker|LongJobsLauncher/.test(JSON.stringify(m.Properties.FunctionName)))
    .map(([id]) => id);
  expect(mappingArns).toHaveLength(5);
  expect(mappingIds).toHaveLength(5);
  expect(mappingIds.filter((id) => !JSON.stringify(mappingArns).includes(id))).toEqual([]);
  const env = resourcesOf('AWS::Lambda::Function').find(([id]) => id.includes(functionId))?.[1].Properties.Environment.Variables;
  for (const lane of ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'LONG']) expect(env[`LANE_${lane}_MAPPING`]).toBeDefined();
}

describe('task table', () => {
  it('streams new and old images, recovers to a point in time, is encrypted and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('priority lanes', () => {
  it('gives every lane an encrypted queue whose DLQ takes messages after its maxReceiveCount', () => {
    const queues = resourcesOf('AWS::SQS::Queue');
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    for (const lane of LANES) {
      const queue = queues.find(([id]) => id.startsWith(`SluiceLanes${lane.name}`) && !id.includes('dlq'))?.[1];
      if (!queue) throw new Error(`no queue for lane ${lane.name}`);
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(lane.maxReceiveCount);
      expect(queue.Properties.RedrivePolicy.deadLetterTargetArn).toBeDefined();
      expect(queue.Properties.VisibilityTimeout).toBe(laneVisibilitySeconds(lane.consumer));
      expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });

  it('gives every mapped queue a visibility timeout Lambda accepts: at least its function timeout', () => {
    // CreateEventSourceMapping refuses less ("Queue visibility timeout: 30 seconds is less than Function timeout").
    const queues = Object.fromEntries(resourcesOf('AWS::SQS::Queue'));
    const functions = Object.fromEntries(resourcesOf('AWS::Lambda::Function'));
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => m.Properties.EventSourceArn?.['Fn::GetAtt']?.[1] === 'Arn',
    );
    expect(mappings.length).toBeGreaterThanOrEqual(LANES.length);
    for (const [, mapping] of mappings) {
      const queue = queues[mapping.Properties.EventSourceArn['Fn::GetAtt'][0]];
      const fn = functions[mapping.Properties.FunctionName.Ref];
      expect(queue && fn).toBeTruthy();
      expect(queue.Properties.VisibilityTimeout ?? 30).toBeGreaterThanOrEqual(fn.Properties.Timeout ?? 3);
    }
  });
});

describe('event source mappings', () => {
  it('feeds the worker from each short-task lane with partial batch failures and the lane concurrency', () => {
    const sqsMappings = resourcesOf('AWS::Lambda::EventSourceMapping')
      .map(([, m]) => m.Properties)
      .filter((p) => JSON.stringify(p.FunctionName).includes('Worker'));
    const workerLanes = LANES.filter((l) => l.consumer === 'worker');
    expect(sqsMappings).toHaveLength(workerLanes.length);
    for (const m of sqsMappings) {
      expect(m.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(m.BatchSize).toBe(10);
    }
    expect(sqsMappings.map((m) => m.ScalingConfig.MaximumConcurrency).sort((a, b) => a - b)).toEqual(
      workerLanes.map((l) => l.maxConcurrency).sort((a, b) => a - b),
    );
  });

  it('invokes the dispatcher only for tasks entering QUEUED or SCHEDULED that do not wait for a slot, the last task a batch parked, and limited tasks that end or pause; retrying from the failed record', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              dynamodb: { NewImage: { status: { S: ['QUEUED', 'SCHEDULED'] }, waitingFor: { M: { scope: { S: [{ exists: false }] } } } } },
            }),
          },
          {
            Pattern: JSON.stringify({
              dynamodb: { NewImage: { status: { S: ['QUEUED'] }, waitingFor: { M: { fill: { BOOL: [true] } } } } },
            }),
          },
          {
            Pattern: JSON.stringify({
              dynamodb: { NewImage: { status: { S: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'PAUSED'] }, limited: { BOOL: [true] } } },
            }),
          },
          { Pattern: JSON.stringify({ dynamodb: { Keys: { pk: { S: ['LIMITDEF'] } } } }) },
        ],
      },
    });
  });

  it('lets the operations function read lane depths, switch the lanes’ mappings, read metrics and record lane switches, and nothing else; the intake has no SQS or Lambda access', () => {
    expect(actionsOf('ApiIntake').filter((a) => a.startsWith('sqs:') || a.startsWith('lambda:'))).toEqual([]);
    expect(new Set(actionsOf('ApiOperations').filter((a) => !a.startsWith('xray:')))).toEqual(
      new Set([
        'sqs:GetQueueAttributes',
        'lambda:GetEventSourceMapping',
        'lambda:UpdateEventSourceMapping',
        'cloudwatch:GetMetricData',
        'dynamodb:Query',
        'dynamodb:PutItem',
      ]),
    );
    const statements = (prefix: string) =>
      policyStatementsOf('ApiOperations').filter((st) => [st.Action].flat().some((a: string) => a.startsWith(prefix)));
    expect(statements('sqs:').flatMap((st) => [st.Resource].flat())).toHaveLength(10);
    expectTheLaneMappings('ApiOperations', ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']);
  });

  it('lets the sweeper read the lanes’ mappings (a lane paused in AWS’s console is not aged), and not switch them', () => {
    expectTheLaneMappings('SweepSweeper', ['lambda:GetEventSourceMapping']);
  });

  it('lets the dispatcher admit tasks (limits, waiters) without any other table action', () => {
    const streamReading = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'];
    const tableActions = actionsOf('DispatchDispatcher').filter((a) => a.startsWith('dynamodb:') && !streamReading.includes(a));
    expect(new Set(tableActions)).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
      ]),
    );
  });
});

describe('functions', () => {
  it('run on arm64 with the newest Node.js runtime', () => {
    for (const [, f] of resourcesOf('AWS::Lambda::Function')) {
      if (f.Properties.Handler !== 'index.handler') continue;
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.Runtime).toBe('nodejs24.x');
    }
  });

  it('give the worker the table actions it uses and nothing else', () => {
    expect(new Set(actionsOf('WorkWorker'))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ]),
    );
  });

  it('give the intake the table actions tasks and schedules use and nothing else', () => {
    expect(new Set(actionsOf('ApiIntake').filter((a) => a.startsWith('dynamodb:')))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ]),
    );
  });

  it('let only the dispatcher send messages to the lanes', () => {
    expect(actionsOf('DispatchDispatcher')).toContain('sqs:SendMessage');
    expect(actionsOf('WorkWorker')).not.toContain('sqs:SendMessage');
    expect(actionsOf('ApiIntake')).not.toContain('sqs:SendMessage');
  });

  it('stop at the timeouts the local runtime enforces on its in-process functions (one constant each)', () => {
    const timeoutOf = (description: string) =>
      resourcesOf('AWS::Lambda::Function').find(([, f]) => String(f.Properties.Description).startsWith(description))?.[1].Properties
        .Timeout;
    expect({
      dispatcher: timeoutOf('Sluice dispatcher'),
      worker: timeoutOf('Sluice worker'),
      launcher: timeoutOf('Sluice launcher'),
      sweeper: timeoutOf('Sluice sweeper'),
      fire: timeoutOf('Sluice schedule fire'),
      sync: timeoutOf('Sluice schedule sync'),
    }).toEqual({
      dispatcher: DISPATCHER_TIMEOUT_SECONDS,
      worker: WORKER_TIMEOUT_SECONDS,
      launcher: LAUNCHER_TIMEOUT_SECONDS,
      sweeper: SWEEPER_TIMEOUT_SECONDS,
      fire: SCHEDULE_FIRE_TIMEOUT_SECONDS,
      sync: SCHEDULE_SYNC_TIMEOUT_SECONDS,
    });
  });

  it('use no wildcard actions', () => {
    for (const [, p] of resourcesOf('AWS::IAM::Policy')) {
      for (const s of p.Properties.PolicyDocument.Statement) {
        for (const action of [s.Action].flat()) expect(action).not.toMatch(/\*/);
      }
    }
  });
});

describe('HTTP API', () => {
  it('requires IAM authorisation on every route, and sends unmatched requests to the intake for its documented 404/405', () => {
    const routes = resourcesOf('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(
      [
        '$default',
        'GET /lanes',
        'POST /lanes/{lane}/pause',
        'POST /lanes/{lane}/resume',
        'GET /stats',
        'GET /openapi.json',
        'GET /tasks',
        'GET /tasks/{id}',
        'GET /tasks/{id}/events',
        'PATCH /tasks/{id}',
        'POST /tasks',
        'POST /tasks/batch',
        'POST /tasks/bulk',
        'POST /tasks/{id}/pause',
        'POST /tasks/{id}/resume',
        'POST /tasks/{id}/cancel',
        'POST /tasks/{id}/retry',
        'POST /schedules',
        'GET /schedules',
        'GET /schedules/{name}',
        'PATCH /schedules/{name}',
        'DELETE /schedules/{name}',
        'POST /schedules/{name}/pause',
        'POST /schedules/{name}/resume',
        'POST /schedules/{name}/trigger',
        'GET /schedules/{name}/runs',
        'PUT /limits/{scope}/{key}',
        'GET /limits',
        'GET /limits/{scope}/{key}',
        'DELETE /limits/{scope}/{key}',
      ].sort(),
    );
    for (const r of routes) expect(r.AuthorizationType).toBe('AWS_IAM');
    // Two integrations: the operations function for the lanes and the stats, the intake for everything else.
    const target = (key: string) => JSON.stringify(routes.find((r) => r.RouteKey === key)?.Target);
    expect(new Set(routes.map((r) => JSON.stringify(r.Target))).size).toBe(2);
    expect(
      routes
        .filter((r) => JSON.stringify(r.Target) === target('GET /lanes'))
        .map((r) => r.RouteKey)
        .sort(),
    ).toEqual(['GET /lanes', 'GET /stats', 'POST /lanes/{lane}/pause', 'POST /lanes/{lane}/resume']);
    expect(target('$default')).toBe(target('GET /tasks'));
  });
});

describe('logs', () => {
  it('gives every function a log group of its own that expires (30 days) and goes with the stack', () => {
    const groups = Object.fromEntries(resourcesOf('AWS::Logs::LogGroup'));
    const functions = resourcesOf('AWS::Lambda::Function').filter(([id]) => !id.startsWith('CustomResource') && !id.includes('AWS679'));
    expect(functions.length).toBeGreaterThanOrEqual(6);
    for (const [id, fn] of functions) {
      const group = groups[fn.Properties.LoggingConfig?.LogGroup?.Ref];
      expect(group, `${id} has no log group of its own`).toBeDefined();
      expect(group.Properties.RetentionInDays).toBe(30);
    }
  });

  it('takes the retention from one prop', () => {
    const t = Template.fromStack(
      new SluiceStack(new App(), 'Short', { scheduler: { logRetention: RetentionDays.ONE_WEEK, longJobs: false } }),
    );
    const retentions = Object.values(t.findResources('AWS::Logs::LogGroup')).map((g) => g.Properties.RetentionInDays);
    expect(retentions.filter((r) => r === 7).length).toBeGreaterThanOrEqual(5);
  });
});

describe('recovery', () => {
  it('runs the sweeper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
  });

  it('gives the sweeper a keys-only sparse index to query', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'sweep', Projection: { ProjectionType: 'KEYS_ONLY' } })],
    });
    expect(actionsOf('SweepSweeper')).toContain('dynamodb:Query');
  });

  it('has the sweeper drain every lane DLQ (no mapping polls them) and look at the failure queues', () => {
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping').map(([, m]) => JSON.stringify(m.Properties.EventSourceArn));
    expect(mappings.filter((arn) => arn.includes('dlq'))).toEqual([]);
    const [, sweeper] = resourcesOf('AWS::Lambda::Function').find(([id]) => id.includes('SweepSweeper')) ?? [];
    const variables = sweeper?.Properties.Environment.Variables as Record<string, unknown>;
    for (const lane of LANES) expect(JSON.stringify(variables[laneDlqEnv(lane.name)])).toContain(`SluiceLanes${lane.name}dlq`);
    expect(JSON.stringify(variables[FAILURE_QUEUE_ENV['dispatch-failures']])).toContain('SluiceDispatchFailures');
    expect(JSON.stringify(variables[FAILURE_QUEUE_ENV['schedule-failures']])).toContain('SluiceSchedulesFailures');
    const statements = policyStatementsOf('SweepSweeper');
    const receiving = statements.filter((s) => [s.Action].flat().includes('sqs:ReceiveMessage'));
    for (const lane of LANES) expect(JSON.stringify(receiving.map((s) => s.Resource))).toContain(`SluiceLanes${lane.name}dlq`);
    const looking = statements.filter((s) => [s.Action].flat().includes('sqs:GetQueueAttributes')).map((s) => JSON.stringify(s.Resource));
    expect(looking.some((r) => r.includes('SluiceDispatchFailures'))).toBe(true);
    expect(looking.some((r) => r.includes('SluiceSchedulesFailures'))).toBe(true);
  });

  it('refuses a recovery threshold outside its setting’s bounds', () => {
    for (const recoveriesPerPass of [-1, 1.5]) {
      expect(() => new SluiceStack(new App(), 'BadRecoveries', { scheduler: { recoveriesPerPass } })).toThrow(
        /recoveriesPerPass must be a whole number from 0 to 10000/,
      );
    }
  });
});

describe('long jobs', () => {
  it('define an ARM Fargate task whose image is built from the Dockerfile asset', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [Match.objectLike({ Name: 'runner', StopTimeout: 30 })],
    });
  });

  it('let the launcher run only that task definition, in that cluster, and pass only its two roles', () => {
    const statements = policyStatementsOf('LongJobsLauncher');
    const runTask = statements.find((s) => s.Action === 'ecs:RunTask') as { Resource: unknown; Condition: unknown } | undefined;
    expect(JSON.stringify(runTask?.Resource)).toContain('LongJobsRunner');
    expect(JSON.stringify(runTask?.Condition)).toContain('ecs:cluster');
    const passRole = statements.find((s) => s.Action === 'iam:PassRole');
    expect(passRole?.Resource).toHaveLength(2);
    expect(JSON.stringify(passRole?.Resource)).toMatch(/RunnerExecutionRole.*RunnerTaskRole|RunnerTaskRole.*RunnerExecutionRole/);
  });

  it('let the sweeper stop and describe tasks of its cluster only', () => {
    const stop = policyStatementsOf('SweepSweeper').find((s) => [s.Action].flat().includes('ecs:StopTask'));
    expect(JSON.stringify(stop?.Resource)).toContain(':task/');
    // The stack's partition (aws-cn, aws-us-gov…), never a hard-coded arn:aws:.
    expect(JSON.stringify(stop?.Resource)).toContain('{"Ref":"AWS::Partition"}');
  });

  it('builds the runner image from the lockfile and functions/ only, so editing anything else keeps its hash', async () => {
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const outdir = mkdtempSync(join(tmpdir(), 'sluice-asset-'));
    const app = new App({ outdir });
    new SluiceStack(app, 'Image');
    const assembly = app.synth();
    const manifest = JSON.parse((await import('node:fs')).readFileSync(join(assembly.directory, 'Image.assets.json'), 'utf8'));
    const [image] = Object.values(manifest.dockerImages) as { source: { directory: string } }[];
    const staged = readdirSync(join(assembly.directory, image.source.directory)).sort();
    expect(staged).toEqual(['functions', 'package-lock.json', 'package.json']);
  });

  it('feed the launcher from the long lane, one message at a time, with partial batch failures', () => {
    const mapping = resourcesOf('AWS::Lambda::EventSourceMapping').find(([, m]) =>
      JSON.stringify(m.Properties.FunctionName).includes('Launcher'),
    )?.[1];
    if (!mapping) throw new Error('no launcher mapping');
    expect(mapping.Properties).toMatchObject({ BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    expect(JSON.stringify(mapping.Properties.EventSourceArn)).toContain('SluiceLaneslong');
  });
});

describe('observability', () => {
  it('alarms on four metrics, to one topic: what the sweeper finds, the sweeper failing, worker errors, the critical lane’s age', () => {
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const attention = alarms.filter((a) => a.MetricName === 'Attention' && a.Statistic === 'Sum' && a.Threshold === 0);
    expect(attention).toHaveLength(1);
    // Its service is the stack's name: another deployment in the account has its own.
    expect(attention[0].Dimensions).toEqual([{ Name: 'service', Value: 'Test' }]);
    const errorsOf = (fn: string) =>
      alarms.filter((a) => a.MetricName === 'Errors' && JSON.stringify(a.Dimensions).includes(fn) && a.Statistic === 'Sum');
    expect(errorsOf('SweepSweeper')).toMatchObject([{ Threshold: 0, Period: 300, EvaluationPeriods: 3 }]);
    expect(errorsOf('WorkWorker')).toMatchObject([{ Threshold: 5, Period: 300 }]);
    const ages = alarms.filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(ages).toHaveLength(1);
    expect(ages[0]).toMatchObject({ Threshold: laneDefinition('critical').behindSeconds, EvaluationPeriods: 3 });
    expect(JSON.stringify(ages[0].Dimensions)).toContain('SluiceLanescritical');
    expect(alarms).toHaveLength(4);
    for (const a of alarms) expect(JSON.stringify(a.AlarmActions)).toContain('ObservabilityAlarms');
    expect(Object.keys(template.findOutputs('*')).some((k) => k.includes('AlarmTopicArn'))).toBe(true);
  });

  it('encrypts the alarm topic with a customer-managed key CloudWatch may use, and lets CloudWatch publish', () => {
    const [[keyId, key]] = resourcesOf('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const cloudwatch = (key.Properties.KeyPolicy.Statement as { Principal?: { Service?: string }; Action: string | string[] }[]).find(
      (s) => s.Principal?.Service === 'cloudwatch.amazonaws.com',
    );
    expect([cloudwatch?.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    const [[topicId, topic]] = resourcesOf('AWS::SNS::Topic');
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const [[, policy]] = resourcesOf('AWS::SNS::TopicPolicy');
    const statements = policy.Properties.PolicyDocument.Statement as {
      Effect: string;
      Principal?: unknown;
      Action: string;
      Condition?: unknown;
    }[];
    const publish = statements.find((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('cloudwatch.amazonaws.com'));
    expect(publish?.Action).toBe('sns:Publish');
    expect(JSON.stringify(policy.Properties.Topics)).toContain(topicId);
    // enforceSSL's deny only concerns plain-HTTP requests; CloudWatch publishes over TLS.
    for (const s of statements.filter((s) => s.Effect === 'Deny')) expect(JSON.stringify(s.Condition)).toContain('aws:SecureTransport');
  });

  it('builds a dashboard only when asked ($3 a month)', () => {
    expect(resourcesOf('AWS::CloudWatch::Dashboard')).toHaveLength(0);
    const withDashboard = Template.fromStack(new SluiceStack(new App(), 'WithDashboard', { scheduler: { dashboard: true } }));
    expect(Object.keys(withDashboard.findResources('AWS::CloudWatch::Dashboard'))).toHaveLength(1);
  });
});

describe('the observability construct', () => {
  it('refuses thresholds that are not whole numbers of at least 0', async () => {
    const { Stack } = await import('aws-cdk-lib');
    const { Code, Function: LambdaFunction, Runtime } = await import('aws-cdk-lib/aws-lambda');
    const { Queue } = await import('aws-cdk-lib/aws-sqs');
    const { Observability } = await import('../../lib/observability.ts');
    const stack = new Stack(new App(), 'Bare');
    const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('0') });
    const lanes = Object.fromEntries(LANES.map((l) => [l.name, new Queue(stack, l.name)])) as Record<
      (typeof LANES)[number]['name'],
      InstanceType<typeof Queue>
    >;
    const props = { lanes, worker: fn, sweeper: fn, functions: {} };
    expect(() => new Observability(stack, 'BadAge', { ...props, criticalMaxAgeSeconds: -1 })).toThrow(
      /criticalMaxAgeSeconds must be a whole number/,
    );
    expect(() => new Observability(stack, 'BadErrors', { ...props, workerErrorsPer5Minutes: 2.5 })).toThrow(
      /workerErrorsPer5Minutes must be a whole number/,
    );
    new Observability(stack, 'Good', { ...props, criticalMaxAgeSeconds: 60, workerErrorsPer5Minutes: 0 });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage')?.Threshold).toBe(60);
  });
});
