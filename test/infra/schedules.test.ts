/** Recurring schedules in the synthesized template: the group, the fire and sync functions, and what each may do. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_QUEUE_ENV } from '#core/attention.ts';
import { SCHEDULER_TARGET_ENV } from '#core/config.ts';
import { SCHEDULE_SYNC_FILTER_PATTERN } from '#core/schedule-sync.ts';
import { SluiceStack } from '../../lib/sluice-stack.ts';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
// biome-ignore lint/suspicious/noExplicitAny: a template's properties are untyped JSON
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[]; DeletionPolicy?: string };

let template: Template;
let resources: [string, Resource][];
beforeAll(() => {
  template = Template.fromStack(new SluiceStack(new App(), 'Test', { scheduler: { dashboard: true } }));
  resources = Object.entries(template.toJSON().Resources as Record<string, Resource>);
});

const one = (type: string, idPrefix: string): [string, Resource] => {
  const found = resources.filter(([id, r]) => r.Type === type && id.startsWith(idPrefix));
  expect(found, `${type} ${idPrefix}*`).toHaveLength(1);
  return found[0];
};
const statementsOf = (roleLogicalIdPrefix: string): Statement[] =>
  resources
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleLogicalIdPrefix))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Statement[]);
const actions = (s: Statement) => [s.Action].flat();
const withAction = (statements: Statement[], prefix: string) => statements.filter((s) => actions(s).some((a) => a.startsWith(prefix)));
const groupName = () => one('AWS::Scheduler::ScheduleGroup', 'SluiceSchedulesGroup')[1].Properties.Name as string;
/** A resource ARN as the template writes it, with the pseudo parameters named: arn:${AWS::Partition}:scheduler:… */
const arnText = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (v.Ref) return `\${${v.Ref}}`;
  if (v['Fn::Join']) return v['Fn::Join'][1].map(arnText).join(v['Fn::Join'][0]);
  return JSON.stringify(value);
};
/** The dashboard's widgets, with the template's tokens (inside JSON strings) read as TOKEN. */
const dashboardWidgets = (): { title?: string; metrics?: unknown[][] }[] => {
  const [, dashboard] = one('AWS::CloudWatch::Dashboard', 'SluiceObservabilityDashboard');
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  const body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('')) as {
    widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
  };
  return body.widgets.map((w) => w.properties);
};
const schedulesArn = () => `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule/${groupName()}/*`;

describe('recurring schedules', () => {
  it('own a schedule group that goes with the stack (and its schedules with it)', () => {
    const [, group] = one('AWS::Scheduler::ScheduleGroup', 'SluiceSchedulesGroup');
    expect(group.DeletionPolicy).toBe('Delete');
    expect(groupName()).toMatch(/^[0-9a-zA-Z-_.]{1,64}$/);
  });

  it('have a fire function, whose failed ticks land in the failures queue', () => {
    const [, fire] = one('AWS::Lambda::Function', 'SluiceSchedulesFire');
    expect(fire.Properties.Description).toMatch(/schedule fire/);
    expect(fire.Properties.Timeout).toBe(30);
    expect(fire.Properties.Environment.Variables).toMatchObject({ SLUICE_CONTAINERS: 'enabled', TABLE_NAME: expect.anything() });
    const [failuresId] = one('AWS::SQS::Queue', 'SluiceSchedulesFailures');
    expect(fire.Properties.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [failuresId, 'Arn'] });
  });

  it('leave SLUICE_CONTAINERS off the fire function when the stack runs no containers', () => {
    const lean = Template.fromStack(new SluiceStack(new App(), 'Lean', { scheduler: { longJobs: false } })).toJSON();
    const [fire] = Object.entries(lean.Resources as Record<string, Resource>).filter(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('SluiceSchedulesFire'),
    );
    expect(fire[1].Properties.Environment.Variables.SLUICE_CONTAINERS).toBeUndefined();
  });

  it('give the fire function the table actions a tick uses (no DeleteItem, no Scan)', () => {
    const table = statementsOf('SluiceSchedulesFire').filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')));
    expect(new Set(table.flatMap(actions))).toEqual(
      new Set(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem']),
    );
  });

  it('let only EventBridge Scheduler assume the target role, for this account’s schedule group', () => {
    const [, role] = one('AWS::IAM::Role', 'SluiceSchedulesTargetRole');
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement as {
      Principal: { Service: string };
      Condition: { StringEquals: Record<string, unknown> };
    }[];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toHaveLength(1);
    expect(trust.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(arnText(trust.Condition.StringEquals['aws:SourceArn'])).toBe(
      `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/${groupName()}`,
    );
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('let the target role invoke the fire function and nothing else, and dead-letter to the failures queue only', () => {
    const [fireId] = one('AWS::Lambda::Function', 'SluiceSchedulesFire');
    const [failuresId] = one('AWS::SQS::Queue', 'SluiceSchedulesFailures');
    expect(statementsOf('SluiceSchedulesTargetRole')).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [fireId, 'Arn'] } },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [failuresId, 'Arn'] } },
    ]);
    // Nothing else may invoke the fire function either: no resource policy on it.
    expect(resources.filter(([, r]) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties).includes(fireId))).toEqual([]);
  });

  it('feed the sync function from the table’s stream, schedule items only, with partial batch failures and bounded retries', () => {
    const [, mapping] = one('AWS::Lambda::EventSourceMapping', 'SluiceSchedulesSync');
    const [tableId] = one('AWS::DynamoDB::Table', 'SluiceTasksTable');
    const [failuresId] = one('AWS::SQS::Queue', 'SluiceSchedulesFailures');
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 10,
      BisectBatchOnFunctionError: false,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(SCHEDULE_SYNC_FILTER_PATTERN) }] },
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failuresId, 'Arn'] } } },
    });
  });

  it('scope the sync’s Scheduler actions to the group’s schedules, and PassRole to the target role, passed to Scheduler', () => {
    const statements = statementsOf('SluiceSchedulesSync');
    const scheduler = withAction(statements, 'scheduler:').filter((s) => !actions(s).includes('scheduler:ListSchedules'));
    expect(scheduler).toHaveLength(1);
    expect(new Set(actions(scheduler[0]))).toEqual(
      new Set(['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule']),
    );
    expect(arnText(scheduler[0].Resource)).toBe(schedulesArn());
    const [roleId] = one('AWS::IAM::Role', 'SluiceSchedulesTargetRole');
    expect(withAction(statements, 'iam:')).toEqual([
      {
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
    expect(new Set(withAction(statements, 'dynamodb:').flatMap(actions))).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:ListStreams',
        'dynamodb:DescribeStream',
        'dynamodb:GetRecords',
        'dynamodb:GetShardIterator',
      ]),
    );
  });

  it('run the repair pass in the sync function every five minutes, with ListSchedules (it takes no resource) and a DLQ', () => {
    const statements = statementsOf('SluiceSchedulesSync');
    expect(withAction(statements, 'scheduler:').filter((s) => actions(s).includes('scheduler:ListSchedules'))).toEqual([
      { Action: 'scheduler:ListSchedules', Effect: 'Allow', Resource: '*' },
    ]);
    const [syncId] = one('AWS::Lambda::Function', 'SluiceSchedulesSync');
    const [failuresId] = one('AWS::SQS::Queue', 'SluiceSchedulesFailures');
    const [, rule] = one('AWS::Events::Rule', 'SluiceSchedulesRepair');
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [syncId, 'Arn'] },
          Input: JSON.stringify({ repair: true }),
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [failuresId, 'Arn'] } },
        },
      ],
    });
    // The sweeper carries none of it (its bundle stays small).
    expect(withAction(statementsOf('SluiceSweepSweeper'), 'scheduler:')).toEqual([]);
  });

  it('grant no other function any Scheduler action or PassRole of the target role', () => {
    const [roleId] = one('AWS::IAM::Role', 'SluiceSchedulesTargetRole');
    for (const [id, policy] of resources.filter(([, r]) => r.Type === 'AWS::IAM::Policy')) {
      const roles = JSON.stringify(policy.Properties.Roles);
      if (roles.includes('SluiceSchedulesSync')) continue;
      for (const s of policy.Properties.PolicyDocument.Statement as Statement[]) {
        expect(
          actions(s).filter((a) => a.startsWith('scheduler:')),
          id,
        ).toEqual([]);
        if (actions(s).includes('iam:PassRole')) expect(JSON.stringify(s.Resource), id).not.toContain(roleId);
      }
    }
  });

  it('give the sync function the four SCHEDULE_* variables, pointing at the group, fire function, role and queue', () => {
    const [fireId] = one('AWS::Lambda::Function', 'SluiceSchedulesFire');
    const [roleId] = one('AWS::IAM::Role', 'SluiceSchedulesTargetRole');
    const [failuresId] = one('AWS::SQS::Queue', 'SluiceSchedulesFailures');
    const expected = {
      [SCHEDULER_TARGET_ENV.group]: groupName(),
      [SCHEDULER_TARGET_ENV.functionArn]: { 'Fn::GetAtt': [fireId, 'Arn'] },
      [SCHEDULER_TARGET_ENV.roleArn]: { 'Fn::GetAtt': [roleId, 'Arn'] },
      [SCHEDULER_TARGET_ENV.deadLetterArn]: { 'Fn::GetAtt': [failuresId, 'Arn'] },
    };
    expect(Object.keys(expected).sort()).toEqual(['SCHEDULE_DLQ_ARN', 'SCHEDULE_FUNCTION_ARN', 'SCHEDULE_GROUP', 'SCHEDULE_ROLE_ARN']);
    expect(one('AWS::Lambda::Function', 'SluiceSchedulesSync')[1].Properties.Environment.Variables).toMatchObject(expected);
  });

  it('create the group before the sync mapping can write schedules to it', () => {
    const [groupId] = one('AWS::Scheduler::ScheduleGroup', 'SluiceSchedulesGroup');
    expect(one('AWS::Lambda::EventSourceMapping', 'SluiceSchedulesSync')[1].DependsOn).toContain(groupId);
  });

  it('have the sweeper look at the failures queue (nothing drains it; waiting messages raise the attention alarm)', () => {
    const [failuresId] = one('AWS::SQS::Queue', 'SluiceSchedulesFailures');
    const [, sweeper] = one('AWS::Lambda::Function', 'SluiceSweepSweeper');
    expect(sweeper.Properties.Environment.Variables[FAILURE_QUEUE_ENV['schedule-failures']]).toEqual({ Ref: failuresId });
  });

  it('put a Schedules row on the dashboard: fired, created, skipped and repaired, and Scheduler’s deliveries for the group', () => {
    const widget = (title: string) => dashboardWidgets().find((w) => w.title === title);
    expect(widget('Schedules')?.metrics?.map((row) => row[1])).toEqual([
      'ScheduleFired',
      'ScheduleCreated',
      'ScheduleSkipped',
      'ScheduleRepaired',
    ]);
    const scheduler = widget('Schedule deliveries (EventBridge Scheduler)')?.metrics?.filter((row) => row[0] === 'AWS/Scheduler') ?? [];
    expect(scheduler.map((row) => row[1])).toEqual([
      'InvocationAttemptCount',
      'TargetErrorCount',
      'InvocationsSentToDeadLetterCount',
      'InvocationDroppedCount',
    ]);
    for (const row of scheduler) expect(row.slice(2, 4)).toEqual(['ScheduleGroup', groupName()]);
  });

  it('show the fire and sync functions in the dashboard’s function widgets', () => {
    for (const title of ['Function errors', 'Function duration p99 (ms)']) {
      const labels = dashboardWidgets()
        .find((w) => w.title === title)
        ?.metrics?.map((row) => (row.at(-1) as { label?: string }).label);
      expect(labels, title).toEqual(expect.arrayContaining(['scheduleFire', 'scheduleSync']));
    }
  });
});
