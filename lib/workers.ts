import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LANES, type LaneName, laneMappingEnv } from '#core/lanes.ts';
import { DEFAULT_RECOVERY_SECONDS, WORKER_TIMEOUT_SECONDS } from '#core/limits.ts';
import { settingsEnvironment } from '#core/settings.ts';
import { handlerEntry, SluiceFunction } from './sluice-function.ts';

export interface WorkersProps {
  readonly table: ITable;
  readonly lanes: Readonly<Record<LaneName, IQueue>>;
  /**
   * Maximum concurrent invocations per lane (overrides the lane definitions; at least 2, an SQS ESM minimum).
   * @default each lane's `maxConcurrency`
   */
  readonly laneConcurrency?: Partial<Record<LaneName, number>>;
  /**
   * Memory of the worker function, which also sizes its CPU.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * The recovery bound (seconds) the lanes were built with: attempt leases and visibility
   * heartbeats derive from it.
   * @default 60
   */
  readonly recoverySeconds?: number;
}

/** An event source mapping as others need it: the switch that pauses its lane. */
export interface LaneMapping {
  readonly mappingId: string;
  readonly mappingArn: string;
}

/** The lanes' mappings, as the functions that read or flip their switches are given them. */
export type LaneMappings = Readonly<Partial<Record<LaneName, LaneMapping>>>;

/** Give a function the lanes' switches: each mapping's id in its environment, and `actions` on exactly those mappings. */
export function useLaneMappings(fn: SluiceFunction, mappings: LaneMappings, actions: readonly string[]): void {
  const entries = Object.entries(mappings) as [LaneName, LaneMapping][];
  for (const [lane, mapping] of entries) fn.addEnvironment(laneMappingEnv(lane), mapping.mappingId);
  if (entries.length > 0) {
    fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: entries.map(([, mapping]) => mapping.mappingArn) }));
  }
}

/** One worker function with an event source mapping per short-task lane, each with its own concurrency. */
export class Workers extends Construct {
  readonly handler: SluiceFunction;
  /** Each short-task lane's event source mapping (pausing a lane disables it). */
  readonly mappings: LaneMappings;

  constructor(scope: Construct, id: string, props: WorkersProps) {
    super(scope, id);
    this.handler = new SluiceFunction(this, 'Worker', {
      entry: handlerEntry('worker'),
      description: 'Sluice worker: runs short tasks',
      timeout: Duration.seconds(WORKER_TIMEOUT_SECONDS),
      memorySize: props.memorySize ?? 256,
      tableAccess: { table: props.table, actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] },
      environment: {
        ...settingsEnvironment({
          workerTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
          recoverySeconds: props.recoverySeconds ?? DEFAULT_RECOVERY_SECONDS,
        }),
      },
    });
    const mappings: Partial<Record<LaneName, LaneMapping>> = {};
    for (const lane of LANES.filter((l) => l.consumer === 'worker')) {
      const source = new SqsEventSource(props.lanes[lane.name], {
        batchSize: lane.batchSize,
        maxBatchingWindow: lane.batchingWindowSeconds ? Duration.seconds(lane.batchingWindowSeconds) : undefined,
        maxConcurrency: Math.max(2, props.laneConcurrency?.[lane.name] ?? lane.maxConcurrency),
        reportBatchItemFailures: true,
      });
      this.handler.addEventSource(source);
      mappings[lane.name] = { mappingId: source.eventSourceMappingId, mappingArn: source.eventSourceMappingArn };
      // The mapping's grant covers ReceiveMessage, DeleteMessage and ChangeMessageVisibility: the
      // worker extends its messages' visibility and holds duplicates back itself.
    }
    this.mappings = mappings;
  }
}
