import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * A cdk-nag finding we accept, with the reason written where the decision is made. Every use is a
 * deliberate exception, listed in the README's "Security" section.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The findings every Sluice function shares. */
export function acknowledgeFunctionDefaults(scope: IConstruct): void {
  acknowledge(
    scope,
    'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWSLambdaBasicExecutionRole only lets a function write its own CloudWatch logs; a copy of it would say the same thing.',
  );
  acknowledge(
    scope,
    'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) and ECR GetAuthorizationToken (image pulls) support no resource-level permissions.',
  );
  acknowledge(
    scope,
    'Serverless::Serverless-LambdaDLQ',
    'No Sluice function is invoked asynchronously except the sweeper, whose schedule target has its own DLQ and which runs again a minute later, and the schedule fire function, which has its own DLQ; event source mappings send failed messages to the lane DLQs.',
  );
}

/** Grants from Table.grant() cover the table's indexes too (<table>/index/*). */
export function acknowledgeTableIndexes(scope: IConstruct, tableLogicalId: string): void {
  acknowledge(
    scope,
    `AwsSolutions::AwsSolutions-IAM5[Resource::<${tableLogicalId}.Arn>/index/*]`,
    'The only index is the sparse sweep index of the same table; the grant lists exactly the actions each function uses.',
  );
}

/** A CloudFormation value as cdk-nag prints it in finding ids: `<LogicalId>`, `<LogicalId.Attr>`, `<AWS::Region>`. */
export function nagRendering(scope: IConstruct, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if ('Ref' in o) return `<${o.Ref}>`;
    if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in o) return ((o['Fn::Join'] as [string, unknown[]])[1] ?? []).map(render).join((o['Fn::Join'] as [string])[0]);
    return JSON.stringify(v);
  };
  return render(Stack.of(scope).resolve(value));
}
