/**
 * `npm run deploy:rehearse`: a deploy rehearsed offline. Boots its own emulator (or uses
 * AWS_ENDPOINT_URL), runs `cdk bootstrap` and `cdk deploy -c longJobs=false` into its
 * CloudFormation, then checks through each service's own API that what the template declares
 * exists with the properties that matter. What the emulator reports created but never creates,
 * or stores without a property, is listed as "not checkable offline" — never counted as checked.
 * Exits 1 when a check fails. Against an endpoint of its own it leaves nothing behind (the
 * emulator goes); against a given endpoint it destroys the stack it deployed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiGatewayV2Client, GetApisCommand } from '@aws-sdk/client-apigatewayv2';
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeContinuousBackupsCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetEventSourceMappingCommand, GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMoto } from './emulator.mjs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ACCOUNT = process.env.CDK_DEFAULT_ACCOUNT ?? '123456789012';
const REGION = process.env.AWS_REGION ?? 'us-east-1';
const STACK = 'Sluice';
const log = (line: string) => console.log(line);

// biome-ignore lint/suspicious/noExplicitAny: a template's properties are untyped JSON, read here field by field
type Resource = { Type: string; Properties?: Record<string, any> };
type Verdict = 'ok' | 'FAIL' | 'n/a';
const results: { verdict: Verdict; type: string; id: string; what: string }[] = [];
const record = (verdict: Verdict, type: string, id: string, what: string) => results.push({ verdict, type, id, what });
const check = (type: string, id: string, what: string, ok: boolean, detail = '') =>
  record(ok ? 'ok' : 'FAIL', type, id, ok ? what : `${what}: ${detail}`);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

let ownEmulator: { stop: () => Promise<void> } | undefined;
let endpoint = process.env.AWS_ENDPOINT_URL;
if (!endpoint) {
  const moto = await startMoto({ quiet: true });
  ownEmulator = moto;
  // The emulator parses the CDK CLI's template URLs only when their host is `localhost`.
  endpoint = moto.endpoint.replace('127.0.0.1', 'localhost');
}
const env = {
  ...process.env,
  AWS_ENDPOINT_URL: endpoint,
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'rehearsal',
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'rehearsal',
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION,
  CDK_DEFAULT_ACCOUNT: ACCOUNT,
  CDK_DEFAULT_REGION: REGION,
};
const out = mkdtempSync(join(tmpdir(), 'sluice-rehearsal-'));
const cdk = (...args: string[]) => {
  log(`$ cdk ${args.join(' ')}`);
  const run = spawnSync('npx', ['cdk', ...args, '-c', 'longJobs=false', '-o', out], { env, encoding: 'utf8' });
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    throw new Error(`cdk ${args[0]} failed (exit ${run.status})`);
  }
};

const client = {
  endpoint,
  region: REGION,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
};
const sqs = new SQSClient({ ...client, useQueueUrlAsEndpoint: false });
const lambda = new LambdaClient(client);

try {
  cdk('bootstrap', `aws://${ACCOUNT}/${REGION}`);
  cdk('deploy', STACK, '--require-approval', 'never');
  const template = JSON.parse(readFileSync(join(out, `${STACK}.template.json`), 'utf8')) as { Resources: Record<string, Resource> };
  const live = (await new CloudFormationClient(client).send(new DescribeStackResourcesCommand({ StackName: STACK }))).StackResources ?? [];
  const reported = new Set(live.map((r) => r.LogicalResourceId as string));
  const physical = new Map(
    live.filter((r) => r.PhysicalResourceId).map((r) => [r.LogicalResourceId as string, r.PhysicalResourceId as string]),
  );
  /** `Logical.Attribute` → value, for the GetAtts the checks compare against. */
  const attributes = new Map<string, string>();
  /** A template value with Ref / GetAtt resolved against what was deployed. */
  const resolve = (value: unknown): unknown => {
    if (value && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      if (typeof v.Ref === 'string') return physical.get(v.Ref) ?? v.Ref;
      if (Array.isArray(v['Fn::GetAtt'])) return attributes.get(v['Fn::GetAtt'].join('.')) ?? `GetAtt:${v['Fn::GetAtt'].join('.')}`;
    }
    return value;
  };
  // Queue ARNs and the table's stream: what mappings and redrive policies refer to.
  for (const [id, r] of Object.entries(template.Resources)) {
    const name = physical.get(id);
    if (!name) continue;
    if (r.Type === 'AWS::SQS::Queue') {
      const attrs = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: name, AttributeNames: ['QueueArn'] }))).Attributes ?? {};
      attributes.set(`${id}.Arn`, attrs.QueueArn ?? '');
    }
    if (r.Type === 'AWS::DynamoDB::Table') {
      const table = (await new DynamoDBClient(client).send(new DescribeTableCommand({ TableName: name }))).Table;
      attributes.set(`${id}.StreamArn`, table?.LatestStreamArn ?? '');
    }
  }
  /** Types the emulator reports CREATE_COMPLETE without creating anything (see FACTS: moto's CloudFormation). */
  const NOT_CREATED_OFFLINE = new Set([
    'AWS::ApiGatewayV2::Api',
    'AWS::ApiGatewayV2::Route',
    'AWS::ApiGatewayV2::Stage',
    'AWS::ApiGatewayV2::Integration',
    'AWS::CloudWatch::Alarm',
    'AWS::SQS::QueuePolicy',
    'AWS::SNS::TopicPolicy',
    'AWS::Lambda::Permission',
  ]);
  /** Types moto's CloudFormation does not implement: it skips them without a word (checked in the template by the infra tests). */
  const NOT_IMPLEMENTED_OFFLINE = new Set(['AWS::Scheduler::ScheduleGroup']);

  for (const [id, resource] of Object.entries(template.Resources)) {
    const { Type: type, Properties: p = {} } = resource;
    if (type === 'AWS::CDK::Metadata') continue;
    const name = physical.get(id);
    if (!name) {
      if (NOT_CREATED_OFFLINE.has(type)) {
        record('n/a', type, id, `${p.RouteKey ?? ''} not checkable offline (the emulator reports it created but creates nothing)`.trim());
      } else if (NOT_IMPLEMENTED_OFFLINE.has(type)) {
        record('n/a', type, id, "not checkable offline (the emulator's CloudFormation does not implement this type)");
      } else record('FAIL', type, id, reported.has(id) ? 'reported, but nothing was created' : 'not in the deployed stack');
      continue;
    }
    try {
      switch (type) {
        case 'AWS::DynamoDB::Table': {
          const db = new DynamoDBClient(client);
          const table = (await db.send(new DescribeTableCommand({ TableName: name }))).Table;
          check(type, id, 'key schema', same(table?.KeySchema, p.KeySchema), JSON.stringify(table?.KeySchema));
          check(
            type,
            id,
            `stream ${p.StreamSpecification?.StreamViewType}`,
            table?.StreamSpecification?.StreamViewType === p.StreamSpecification?.StreamViewType,
          );
          const indexes = (p.GlobalSecondaryIndexes ?? []).map((g: { IndexName: string }) => g.IndexName);
          check(
            type,
            id,
            `indexes ${indexes.join(', ')}`,
            same(
              table?.GlobalSecondaryIndexes?.map((g) => g.IndexName),
              indexes,
            ),
          );
          check(type, id, 'on-demand billing', table?.BillingModeSummary?.BillingMode === p.BillingMode);
          const pitr = (await db.send(new DescribeContinuousBackupsCommand({ TableName: name }))).ContinuousBackupsDescription;
          if (pitr?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus === 'ENABLED')
            check(type, id, 'point-in-time recovery', true);
          else record('n/a', type, id, 'point-in-time recovery: not checkable offline (the emulator drops it)');
          break;
        }
        case 'AWS::SQS::Queue': {
          const attrs: Record<string, string> =
            (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: name, AttributeNames: ['All'] }))).Attributes ?? {};
          const expect = (field: string, wanted: unknown) =>
            wanted !== undefined && check(type, id, `${field} ${wanted}`, attrs[field] === String(wanted), attrs[field]);
          expect('VisibilityTimeout', p.VisibilityTimeout ?? 30);
          expect('MessageRetentionPeriod', p.MessageRetentionPeriod ?? 345600);
          if (p.SqsManagedSseEnabled) expect('SqsManagedSseEnabled', true);
          if (p.RedrivePolicy) {
            const redrive = JSON.parse(attrs.RedrivePolicy ?? '{}');
            check(
              type,
              id,
              `DLQ after ${p.RedrivePolicy.maxReceiveCount} receives`,
              redrive.maxReceiveCount === p.RedrivePolicy.maxReceiveCount &&
                redrive.deadLetterTargetArn === resolve(p.RedrivePolicy.deadLetterTargetArn),
              attrs.RedrivePolicy,
            );
          }
          break;
        }
        case 'AWS::Lambda::Function': {
          const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
          check(type, id, `handler ${p.Handler}, ${p.Runtime}`, fn.Handler === p.Handler && fn.Runtime === p.Runtime);
          check(
            type,
            id,
            `timeout ${p.Timeout ?? 3} s, ${p.MemorySize ?? 128} MB`,
            fn.Timeout === (p.Timeout ?? 3) && fn.MemorySize === (p.MemorySize ?? 128),
          );
          const keys = Object.keys(p.Environment?.Variables ?? {}).sort();
          check(type, id, `environment ${keys.join(', ')}`, same(Object.keys(fn.Environment?.Variables ?? {}).sort(), keys));
          if (same(fn.Architectures, p.Architectures)) check(type, id, `architecture ${p.Architectures}`, true);
          else record('n/a', type, id, `architecture ${p.Architectures}: not checkable offline (the emulator reports ${fn.Architectures})`);
          record('n/a', type, id, 'tracing and log group: not checkable offline (the emulator drops logging config and tracing)');
          break;
        }
        case 'AWS::Lambda::EventSourceMapping': {
          const m = await lambda.send(new GetEventSourceMappingCommand({ UUID: name }));
          check(type, id, `batch size ${p.BatchSize}`, m.BatchSize === p.BatchSize);
          const source = String(resolve(p.EventSourceArn));
          check(type, id, `source ${source.split(':').pop()}`, m.EventSourceArn === source, m.EventSourceArn);
          if (p.FunctionResponseTypes) check(type, id, 'ReportBatchItemFailures', same(m.FunctionResponseTypes, p.FunctionResponseTypes));
          if (p.ScalingConfig)
            check(
              type,
              id,
              `maximum concurrency ${p.ScalingConfig.MaximumConcurrency}`,
              m.ScalingConfig?.MaximumConcurrency === p.ScalingConfig.MaximumConcurrency,
            );
          if (p.FilterCriteria)
            check(type, id, 'filter criteria', same(m.FilterCriteria, p.FilterCriteria), JSON.stringify(m.FilterCriteria));
          if (p.DestinationConfig)
            check(
              type,
              id,
              'failure destination',
              m.DestinationConfig?.OnFailure?.Destination === resolve(p.DestinationConfig.OnFailure.Destination),
            );
          check(type, id, 'enabled', m.State === 'Enabled', m.State);
          break;
        }
        case 'AWS::Logs::LogGroup': {
          const groups =
            (await new CloudWatchLogsClient(client).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }))).logGroups ?? [];
          const group = groups.find((g) => g.logGroupName === name);
          check(
            type,
            id,
            `retention ${p.RetentionInDays} days`,
            group?.retentionInDays === p.RetentionInDays,
            String(group?.retentionInDays),
          );
          break;
        }
        case 'AWS::SNS::Topic': {
          const attrs = (await new SNSClient(client).send(new GetTopicAttributesCommand({ TopicArn: name }))).Attributes ?? {};
          const keyId = physical.get(p.KmsMasterKeyId?.['Fn::GetAtt']?.[0]);
          check(
            type,
            id,
            'encrypted with the stack’s own key',
            Boolean(keyId) && String(attrs.KmsMasterKeyId).endsWith(`key/${keyId}`),
            attrs.KmsMasterKeyId,
          );
          break;
        }
        case 'AWS::KMS::Key': {
          const kms = new KMSClient(client);
          const raw: unknown = (await kms.send(new GetKeyPolicyCommand({ KeyId: name, PolicyName: 'default' }))).Policy ?? '';
          const policy = typeof raw === 'string' ? raw : JSON.stringify(raw);
          check(
            type,
            id,
            'policy lets CloudWatch encrypt alarm notifications',
            policy.includes('cloudwatch.amazonaws.com') && policy.includes('kms:GenerateDataKey*'),
          );
          check(
            type,
            id,
            'rotation',
            (await kms.send(new GetKeyRotationStatusCommand({ KeyId: name }))).KeyRotationEnabled === (p.EnableKeyRotation === true),
          );
          break;
        }
        case 'AWS::Events::Rule': {
          const rule = await new EventBridgeClient(client).send(new DescribeRuleCommand({ Name: name }));
          check(type, id, `schedule ${p.ScheduleExpression}`, rule.ScheduleExpression === p.ScheduleExpression && rule.State === p.State);
          break;
        }
        case 'AWS::IAM::Role': {
          const role = await new IAMClient(client).send(new GetRoleCommand({ RoleName: name }));
          check(type, id, 'exists', role.Role?.RoleName === name);
          break;
        }
        case 'AWS::CloudWatch::Dashboard': {
          const dashboard = await new CloudWatchClient(client).send(new GetDashboardCommand({ DashboardName: name }));
          check(type, id, 'exists with widgets', (dashboard.DashboardBody ?? '').includes('"widgets"'));
          break;
        }
        case 'AWS::CloudWatch::Alarm': {
          const alarms = (await new CloudWatchClient(client).send(new DescribeAlarmsCommand({}))).MetricAlarms ?? [];
          if (alarms.some((a) => a.AlarmName === name)) check(type, id, `alarm on ${p.MetricName ?? 'an expression'}`, true);
          else record('n/a', type, id, 'not checkable offline (the emulator reports alarms created but creates none)');
          break;
        }
        case 'AWS::ApiGatewayV2::Api':
        case 'AWS::ApiGatewayV2::Route':
        case 'AWS::ApiGatewayV2::Stage':
        case 'AWS::ApiGatewayV2::Integration': {
          const apis = (await new ApiGatewayV2Client(client).send(new GetApisCommand({}))).Items ?? [];
          if (apis.length > 0 && type === 'AWS::ApiGatewayV2::Api')
            check(
              type,
              id,
              'exists',
              apis.some((a) => a.ApiId === name),
            );
          else
            record(
              'n/a',
              type,
              id,
              `${p.RouteKey ?? ''} not checkable offline (the emulator reports the HTTP API created but creates none)`.trim(),
            );
          break;
        }
        default:
          record('n/a', type, id, 'not checked here (the infra tests check its properties in the template)');
      }
    } catch (error) {
      record('FAIL', type, id, `${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  if (!ownEmulator) cdk('destroy', STACK, '--force');
} finally {
  rmSync(out, { recursive: true, force: true });
  await ownEmulator?.stop();
}

for (const r of results) log(`${r.verdict.padEnd(4)} ${r.type.padEnd(34)} ${r.id}: ${r.what}`);
const count = (v: Verdict) => results.filter((r) => r.verdict === v).length;
log(`\n${count('ok')} checks passed, ${count('FAIL')} failed, ${count('n/a')} not checkable offline or not checked here`);
process.exit(count('FAIL') > 0 ? 1 : 0);
