import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { METRIC_SERVICE_ENV } from '#core/metrics.ts';
import { LAMBDA_BUNDLE } from './bundling.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const handlerEntry = (name: string): string => fileURLToPath(new URL(`../functions/handlers/${name}.ts`, import.meta.url));

/**
 * Every Sluice Lambda: arm64 (cheaper per GB-s), the newest Node.js runtime, an ESM bundle built by
 * esbuild on this machine (no Docker), JSON logs. Callers' props are spread last, so any default
 * can be overridden.
 */
export interface SluiceFunctionProps extends NodejsFunctionProps {
  readonly entry: string;
  /** The task table, and exactly the actions this function uses on it (its name arrives as TABLE_NAME). */
  readonly tableAccess?: { readonly table: ITable; readonly actions: readonly string[] };
  /**
   * How long the function's log group keeps its logs (the group is part of the stack, so it goes
   * with `cdk destroy`; Lambda's own would never expire and would outlive the stack).
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/** The `service` dimension of this deployment's metrics (#core/metrics.ts): the stack's name. */
export const metricServiceOf = (scope: IConstruct): string => Stack.of(scope).stackName;

export class SluiceFunction extends NodejsFunction {
  /** The function's own log group. */
  readonly logs: LogGroup;

  constructor(scope: Construct, id: string, { tableAccess, logRetention, ...props }: SluiceFunctionProps) {
    const logs = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      logGroup: logs,
      /** @default arm64 */
      architecture: Architecture.ARM_64,
      /** @default Node.js 24 */
      runtime: Runtime.NODEJS_24_X,
      /** @default 256 MB */
      memorySize: 256,
      /** @default 10 seconds */
      timeout: Duration.seconds(10),
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}/package-lock.json`,
      ...props,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        [METRIC_SERVICE_ENV]: metricServiceOf(scope),
        ...(tableAccess ? { TABLE_NAME: tableAccess.table.tableName } : {}),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: LAMBDA_BUNDLE.minify,
        sourceMap: false,
        target: LAMBDA_BUNDLE.target,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        // Bundle the SDK too: a pinned, tested version, and smaller than loading the runtime's copy.
        externalModules: [],
        banner: LAMBDA_BUNDLE.banner,
        esbuildArgs: Object.fromEntries(Object.entries(LAMBDA_BUNDLE.alias).map(([from, to]) => [`--alias:${from}`, to])),
        ...props.bundling,
      },
    });
    this.logs = logs;
    if (tableAccess) tableAccess.table.grant(this, ...tableAccess.actions);
  }
}
