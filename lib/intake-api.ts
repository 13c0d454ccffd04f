import { CfnOutput } from 'aws-cdk-lib';
import { type CfnStage, HttpApi, HttpMethod, HttpRoute, HttpRouteKey, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type ApiFunction, functionOf, routeEntries } from '#api/contract.ts';
import { LANE_NAMES, type LaneName, laneDlqEnv, laneQueueEnv } from '#core/lanes.ts';
import { DEFAULT_API_THROTTLING } from '#core/limits.ts';
import { settingsEnvironment } from '#core/settings.ts';
import { acknowledge } from './nag.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';
import { type LaneMappings, useLaneMappings } from './workers.ts';

export type ApiAuth = { readonly kind: 'iam' } | { readonly kind: 'jwt'; readonly issuer: string; readonly audience: readonly string[] };

export interface IntakeApiProps {
  readonly table: ITable;
  /** The lanes and their dead-letter queues, whose depths GET /lanes reads (GetQueueAttributes only). */
  readonly lanes: { readonly queues: Readonly<Record<LaneName, IQueue>>; readonly deadLetterQueues: Readonly<Record<LaneName, IQueue>> };
  /**
   * How callers authenticate. IAM (SigV4) by default; a JWT authorizer (issuer, audience) instead.
   * @default { kind: 'iam' }
   */
  readonly auth?: ApiAuth;
  /**
   * Whether the deployment runs containers; without them container tasks are refused (400).
   * @default false
   */
  readonly containers?: boolean;
  /**
   * Stage-wide throttling: steady requests per second and burst (at most the account's regional quota).
   * @default DEFAULT_API_THROTTLING: { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Tasks one tenant may run at once without a limit of its own (shown by GET /limits/tenant/{key}).
   * @default unlimited
   */
  readonly tenantConcurrency?: number;
  /** Each consumed lane's event source mapping: POST /lanes/{lane}/pause disables it. @default none (no lane can be paused) */
  readonly laneMappings?: LaneMappings;
}

/** The routes of the contract (functions/api/contract.ts), grouped by path, as API Gateway routes (each one authorised). */
export const API_ROUTES: readonly { path: string; methods: HttpMethod[]; function: ApiFunction }[] = (() => {
  const byPath = new Map<string, { path: string; methods: HttpMethod[]; function: ApiFunction }>();
  for (const [, route] of routeEntries()) {
    const key = `${functionOf(route)} ${route.path}`;
    const entry = byPath.get(key) ?? { path: route.path, methods: [], function: functionOf(route) };
    entry.methods.push(HttpMethod[route.method]);
    byPath.set(key, entry);
  }
  return [...byPath.values()];
})();

/** HTTP API → intake Lambda (and the operations Lambda for GET /lanes). The intake only writes the table (tasks and schedules); the stream does the rest. */
export class IntakeApi extends Construct {
  readonly api: HttpApi;
  readonly handler: SluiceFunction;
  /** Serves the routes the contract gives the operations function (GET /lanes). */
  readonly operations: SluiceFunction;
  /** 'AWS_IAM' or 'JWT', as the routes carry it. */
  readonly authorizationType: 'AWS_IAM' | 'JWT';

  constructor(scope: Construct, id: string, props: IntakeApiProps) {
    super(scope, id);
    this.handler = new SluiceFunction(this, 'Intake', {
      entry: handlerEntry('intake'),
      description: 'Sluice intake: validates and writes tasks and schedules',
      tableAccess: {
        table: props.table,
        // Tasks and schedules: reads (BatchGetItem: a schedule's book, a tick's items), conditional
        // writes, a tick's transaction (a Put and an Update), DeleteItem to delete a schedule.
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
      },
      environment: {
        ...(props.containers ? { SLUICE_CONTAINERS: 'enabled' } : {}),
        ...settingsEnvironment({ tenantConcurrency: props.tenantConcurrency }),
      },
    });
    // The routes that read or steer AWS itself (lanes, stats), apart so the intake carries none of those clients.
    this.operations = new SluiceFunction(this, 'Operations', {
      entry: handlerEntry('operations'),
      description: "Sluice operations: the lanes' depths, pause switches and per-minute stats for the console and the CLI",
      // The lane switch records (who paused a lane, when): one partition, read and written whole.
      tableAccess: { table: props.table, actions: ['dynamodb:Query', 'dynamodb:PutItem'] },
      environment: {
        ...Object.fromEntries(
          LANE_NAMES.flatMap((lane) => [
            [laneQueueEnv(lane), props.lanes.queues[lane].queueUrl],
            [laneDlqEnv(lane), props.lanes.deadLetterQueues[lane].queueUrl],
          ]),
        ),
      },
    });
    // Depths only: it neither sends nor receives.
    for (const lane of LANE_NAMES) {
      for (const queue of [props.lanes.queues[lane], props.lanes.deadLetterQueues[lane]])
        queue.grant(this.operations, 'sqs:GetQueueAttributes');
    }
    useLaneMappings(this.operations, props.laneMappings ?? {}, ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']);
    this.operations.addToRolePolicy(new PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
    acknowledge(
      this.operations,
      'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      'cloudwatch:GetMetricData (GET /stats, lane ages) and X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    );

    const auth = props.auth ?? { kind: 'iam' };
    const authorizer: IHttpRouteAuthorizer =
      auth.kind === 'iam' ? new HttpIamAuthorizer() : new HttpJwtAuthorizer('Jwt', auth.issuer, { jwtAudience: [...auth.audience] });
    this.authorizationType = auth.kind === 'iam' ? 'AWS_IAM' : 'JWT';

    this.api = new HttpApi(this, 'Api', { description: 'Sluice task API', createDefaultStage: true });
    const integration = new HttpLambdaIntegration('Intake', this.handler);
    const integrations: Record<ApiFunction, HttpLambdaIntegration> = {
      intake: integration,
      operations: new HttpLambdaIntegration('Operations', this.operations),
    };
    for (const route of API_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: route.methods, integration: integrations[route.function], authorizer });
    }
    // Everything no route matches (an unknown path, or a method a path does not have) goes to the
    // intake too, which answers with the documented route-not-found 404 / method-not-allowed 405
    // instead of API Gateway's own {"message":"Not Found"}. Authorised like the rest.
    new HttpRoute(this, 'Unmatched', { httpApi: this.api, routeKey: HttpRouteKey.DEFAULT, integration, authorizer });
    const stage = this.api.defaultStage?.node.defaultChild as CfnStage;
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        caller: '$context.identity.userArn',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        error: '$context.integrationErrorMessage',
      }),
    };
    const throttling = props.throttling ?? DEFAULT_API_THROTTLING;
    stage.defaultRouteSettings = { throttlingRateLimit: throttling.rateLimit, throttlingBurstLimit: throttling.burstLimit };
    new CfnOutput(this, 'Url', { value: this.api.apiEndpoint, description: 'Sluice API base URL' });
  }
}
