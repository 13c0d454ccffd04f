/**
 * The local runtime: plays AWS's part around the deployed handlers. Boots the emulator (unless
 * AWS_ENDPOINT_URL names one), provisions lanes and table from the stack's definitions, serves the
 * HTTP API, and runs the event source mappings that feed the dispatcher and the workers.
 */

import { fileURLToPath, pathToFileURL } from 'node:url';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { APIGatewayProxyEventV2, Context, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { functionOf, matchRoute, ROUTES } from '#api/contract.ts';
import { SCHEDULER_TARGET_ENV } from '#core/config.ts';
import { DISPATCHER_FILTER_PATTERNS, DISPATCHER_STREAM_MAPPING, DISPATCHER_TIMEOUT_SECONDS } from '#core/dispatch.ts';
import { LANES, type LaneName, laneDlqEnv, laneMappingEnv, laneQueueEnv } from '#core/lanes.ts';
import {
  LAUNCHER_TIMEOUT_SECONDS,
  MIN_RECOVERY_SECONDS,
  SCHEDULE_FIRE_TIMEOUT_SECONDS,
  SCHEDULE_SYNC_TIMEOUT_SECONDS,
  SWEEPER_TIMEOUT_SECONDS,
} from '#core/limits.ts';
import { METRIC_SERVICE_ENV } from '#core/metrics.ts';
import { REPAIR_EVENT, SCHEDULE_SYNC_FILTER_PATTERN } from '#core/schedule-sync.ts';
import { readSettings } from '#core/settings.ts';
import type { MeteredRequest } from '../bench/meter.ts';
import { startMoto } from '../emulator.mjs';
import { serveHttpApi } from './api-gateway.ts';
import { consoleAssets } from './console-assets.ts';
import { EcsEmulator } from './ecs-emulator.ts';
import { MappingSwitch, SqsEventSource, StreamEventSource } from './event-sources.ts';
import { matchesFilter } from './filter.ts';
import { FunctionHost, InvocationError, timeLimited } from './function-host.ts';
import { MetricsCollector } from './metrics-collector.ts';
import { processBundle } from './process-bundle.ts';
import { deprovision, LOCAL_MAPPINGS_ENV, type Provisioned, provision } from './provision.ts';
import { SchedulerEmulator } from './scheduler-emulator.ts';

export interface LocalRuntimeOptions {
  /** HTTP port; 0 picks a free one. @default 3000 (or PORT) */
  port?: number;
  /** Prefix of the table and queue names. @default 'sluice-local' */
  prefix?: string;
  /** The worker function's timeout: an invocation still running then is killed. @default 900 */
  workerTimeoutSeconds?: number;
  /**
   * The recovery bound: a dead worker's or container's task runs again within it (lane visibility
   * timeouts and attempt leases derive from it). @default 60 (or SLUICE_RECOVERY_SECONDS)
   */
  recoverySeconds?: number;
  /** How often the sweeper runs. @default 5000 ms (every minute on AWS) */
  sweepIntervalMs?: number;
  /** Most containers at once. @default 10 (or CONTAINER_CAP) */
  containerCap?: number;
  /**
   * Extra task type modules (absolute paths) loaded into every process that runs tasks or
   * validates them: each registers its types with `taskRegistry.register`. Tests use it for task
   * types that must never ship. @default none
   */
  taskModules?: readonly string[];
  /** Delete the table and queues on stop (tests: leave nothing behind on a persistent endpoint). @default false */
  ephemeral?: boolean;
  /** Print nothing but errors. */
  quiet?: boolean;
  /**
   * Emit metrics (EMF lines) and play CloudWatch's part with them (PutMetricData on the emulator),
   * as GET /stats needs. @default true
   */
  metrics?: boolean;
  /**
   * Dispatcher invocations in flight at once (Lambda's ParallelizationFactor, or several stream
   * shards on a large table): admissions and releases of one limit then run side by side, as
   * they can on AWS. @default 1
   */
  streamParallelization?: number;
}

/** Invocations of each function and their total duration: what Lambda would bill. */
export type InvocationStats = Record<string, { count: number; ms: number }>;

export interface LocalRuntime {
  /** Lambda invocations by function, as the local event sources made them. */
  invocations: InvocationStats;
  /** SDK requests recorded by worker environments (with SLUICE_METER=1); in-process ones via drainMeter(). */
  workerMeter: MeteredRequest[];
  url: string;
  endpoint: string;
  resources: Provisioned;
  /** The local ECS: containers are child processes. */
  containers: EcsEmulator;
  /** The worker environments of each lane (child processes), e.g. for killing one in a test. */
  workers: ReadonlyMap<string, FunctionHost>;
  /** EventBridge Scheduler, played from the schedules the Scheduler API holds. */
  scheduler: SchedulerEmulator;
  /** Each lane's consumer (its event source mapping's poller), e.g. to see that a paused lane stopped receiving. */
  consumers: ReadonlyMap<LaneName, SqsEventSource>;
  stop(): Promise<void>;
}

function lambdaContext(name: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const log = options.quiet ? () => {} : (line: string) => console.log(line);
  const stops: (() => Promise<void>)[] = [];
  let stopEmulator = async () => {};
  process.env.AWS_REGION ??= 'us-east-1';
  // Before the first client (provisioning's): the SDK's Node-version notice is not the user's to act on here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (!process.env.AWS_ENDPOINT_URL && !process.env.SLUICE_REAL_AWS) {
    // Its own process group: the runtime stops it last, after the functions that still talk to it
    // (bin/local.ts turns Ctrl-C, SIGTERM and SIGHUP into that stop).
    const moto = await startMoto({ quiet: true, ownProcessGroup: true });
    stopEmulator = moto.stop;
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    // The project's moto stores SQS mappings without running them: the lanes' switches can be registered there.
    process.env[LOCAL_MAPPINGS_ENV] ??= 'on';
    log(`[sluice] emulator: moto on ${moto.endpoint} (pid ${moto.pid})`);
  }
  if (process.env.AWS_ENDPOINT_URL) {
    // Emulators accept any credentials; don't make people configure fake ones.
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  }
  const endpoint = process.env.AWS_ENDPOINT_URL ?? 'aws';
  const fromEnv = readSettings(['workerTimeoutSeconds', 'recoverySeconds', 'sweepIntervalMs']);
  const workerTimeoutSeconds = options.workerTimeoutSeconds ?? fromEnv.workerTimeoutSeconds;
  const recoverySeconds = options.recoverySeconds ?? fromEnv.recoverySeconds;
  if (recoverySeconds < MIN_RECOVERY_SECONDS) throw new Error(`the recovery bound must be at least ${MIN_RECOVERY_SECONDS} s`);
  const resources = await provision({ prefix: options.prefix ?? 'sluice-local', workerTimeoutSeconds });
  if (options.ephemeral) stops.push(() => deprovision(resources));
  process.env.TABLE_NAME = resources.tableName;
  // This deployment's metrics apart from any other's on the same emulator (as the stack name does on AWS).
  process.env[METRIC_SERVICE_ENV] = resources.tableName.replace(/-tasks$/, '');
  for (const lane of LANES) {
    process.env[laneQueueEnv(lane.name)] = resources.queueUrls[lane.name];
    process.env[laneDlqEnv(lane.name)] = resources.dlqUrls[lane.name];
    const mapping = resources.mappings[lane.name];
    if (mapping) process.env[laneMappingEnv(lane.name)] = mapping;
    else delete process.env[laneMappingEnv(lane.name)];
  }
  process.env.SLUICE_WORKER_TIMEOUT_SECONDS = String(workerTimeoutSeconds);
  process.env.SLUICE_RECOVERY_SECONDS = String(recoverySeconds);
  if (options.containerCap !== undefined) process.env.CONTAINER_CAP = String(options.containerCap);
  // Scheduler's target: the fire function (ARNs only name it here: the emulator invokes it in-process).
  process.env[SCHEDULER_TARGET_ENV.group] = resources.scheduleGroup;
  process.env[SCHEDULER_TARGET_ENV.functionArn] =
    `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${resources.scheduleGroup}-fire`;
  process.env[SCHEDULER_TARGET_ENV.roleArn] = `arn:aws:iam::000000000000:role/${resources.scheduleGroup}-scheduler`;
  // Demos and tests need not wait minutes: locally `every` goes down to 5 s.
  process.env.SLUICE_MIN_EVERY_SECONDS ??= '5';
  // The emulator computes queue ages on every read and bills nothing: the console need not wait a minute.
  process.env.SLUICE_OPERATIONS_CACHE_MS ??= '1000';
  // The sweeper's backstops (the reconciliation, the DLQs) on every pass: a pass is seconds apart here.
  process.env.SLUICE_BACKSTOP_EVERY_PASSES ??= '1';
  const taskModules = [...(options.taskModules ?? [])];
  for (const module of taskModules) await import(pathToFileURL(module).href);

  const onError = (source: string) => (error: unknown) => console.error(`[sluice] ${source}:`, error);
  // CloudWatch's part: the functions' EMF lines become metrics on the emulator.
  const metrics = options.metrics ?? true;
  const collector = metrics ? new MetricsCollector(onError('metrics')) : undefined;
  const output = (quiet: boolean | undefined) => (collector ? () => collector.sink(quiet ? undefined : process.stdout) : undefined);
  if (collector) {
    collector.captureStdout();
    stops.push(() => collector.stop());
  }
  process.env.POWERTOOLS_METRICS_DISABLED = metrics ? 'false' : 'true';

  // ECS, played by child processes behind an ECS-speaking endpoint.
  const containers = new EcsEmulator({ env: {}, quiet: options.quiet, preload: taskModules, stdout: output(options.quiet) });
  process.env.AWS_ENDPOINT_URL_ECS = await containers.start();
  stops.unshift(() => containers.stopAll());
  process.env.CLUSTER_ARN = 'arn:aws:ecs:us-east-1:000000000000:cluster/sluice-local';
  process.env.TASK_DEFINITION_ARN = 'sluice-runner';
  process.env.CONTAINER_NAME = 'runner';
  process.env.SUBNETS = 'local';
  process.env.SLUICE_CONTAINERS = 'enabled';
  process.env.POWERTOOLS_LOG_LEVEL ??= options.quiet ? 'ERROR' : 'WARN';

  // The deployed handlers, imported only now that their environment is set.
  const intake = await import('#handlers/intake.ts');
  const operations = await import('#handlers/operations.ts');
  const dispatcher = await import('#handlers/dispatcher.ts');
  const launcher = await import('#handlers/launcher.ts');
  const sweeper = await import('#handlers/sweeper.ts');
  const scheduleFire = await import('#handlers/schedule-fire.ts');
  const scheduleSync = await import('#handlers/schedule-sync.ts');
  // Workers run in their own processes, like Lambda execution environments, so a task that
  // crashes or hangs takes down only its own invocation.
  // One pool of environments per lane, each kept warm: a local cold start is a Node process start
  // (seconds on a busy machine, where Lambda takes a fraction of one), and a backlog in one lane
  // must not make another lane pay it.
  const workerLanes = LANES.filter((l) => l.consumer === 'worker');
  const workerBundle = await processBundle({
    kind: 'function',
    module: fileURLToPath(new URL('../../functions/handlers/worker.ts', import.meta.url)),
    preload: taskModules,
  });
  const workers = new Map(
    workerLanes.map((lane) => [
      lane.name,
      new FunctionHost({
        bundle: workerBundle,
        timeoutMs: workerTimeoutSeconds * 1000,
        memoryMb: 256,
        maxEnvironments: lane.maxConcurrency + 1,
        onMeter: (records) => workerMeter.push(...records),
        stdout: output(false),
      }),
    ]),
  );
  await Promise.all([...workers.values()].map((host) => host.prewarm(1)));
  stops.unshift(async () => {
    await Promise.all([...workers.values()].map((host) => host.stop()));
  });

  const invocations: InvocationStats = {};
  /** An in-process function, counted, and stopped at its timeout (seconds) when it has one here. */
  const timed = <E, R>(name: string, fn: (event: E) => Promise<R>, timeoutSeconds?: number) => {
    const limited = timeoutSeconds === undefined ? fn : timeLimited(name, timeoutSeconds, fn);
    return async (event: E): Promise<R> => {
      const started = performance.now();
      try {
        return await limited(event);
      } finally {
        invocations[name] ??= { count: 0, ms: 0 };
        const stat = invocations[name];
        stat.count += 1;
        stat.ms += performance.now() - started;
      }
    };
  };
  const workerMeter: MeteredRequest[] = [];
  /**
   * A function on an EventBridge rate rule: one pass at a time, as a one-minute schedule makes
   * them (locally every sweepIntervalMs); stopping waits for the pass under way.
   */
  const everyInterval = (name: string, source: string, pass: () => Promise<unknown>, timeoutSeconds: number) => {
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      running ??= timed(
        name,
        pass,
        timeoutSeconds,
      )(undefined)
        .catch(onError(source))
        .finally(() => {
          running = undefined;
        });
    }, options.sweepIntervalMs ?? fromEnv.sweepIntervalMs);
    stops.unshift(async () => {
      clearInterval(timer);
      await running;
    });
  };

  const stream = new StreamEventSource({
    streamArn: resources.streamArn,
    batchSize: DISPATCHER_STREAM_MAPPING.batchSize,
    filter: (record: _Record) => DISPATCHER_FILTER_PATTERNS.some((p) => matchesFilter(p, record as unknown as Record<string, unknown>)),
    invoke: timed('dispatcher', dispatcher.handler, DISPATCHER_TIMEOUT_SECONDS),
    onError: onError('dispatcher'),
    parallelization: options.streamParallelization,
  });
  stream.start();
  stops.unshift(() => stream.stop());

  const scheduleChanges = new StreamEventSource({
    streamArn: resources.streamArn,
    batchSize: 10,
    filter: (record: _Record) => matchesFilter(SCHEDULE_SYNC_FILTER_PATTERN, record as unknown as Record<string, unknown>),
    invoke: timed('schedule-sync', (event: DynamoDBStreamEvent) => scheduleSync.handler(event), SCHEDULE_SYNC_TIMEOUT_SECONDS),
    onError: onError('schedule sync'),
  });
  scheduleChanges.start();
  stops.unshift(() => scheduleChanges.stop());

  const scheduler = new SchedulerEmulator({
    group: resources.scheduleGroup,
    invoke: timed('schedule-fire', (input: unknown) => scheduleFire.handler(input), SCHEDULE_FIRE_TIMEOUT_SECONDS),
    onError: onError('scheduler'),
  });
  scheduler.start();
  stops.unshift(() => scheduler.stop());
  // The repair rule (every five minutes on AWS) runs with the sweeper's timer here.
  everyInterval('schedule-sync', 'schedule repair', () => scheduleSync.handler(REPAIR_EVENT), SCHEDULE_SYNC_TIMEOUT_SECONDS);

  const consumers = new Map<LaneName, SqsEventSource>();
  const switchOf = (lane: LaneName) => {
    const uuid = resources.mappings[lane];
    return uuid ? new MappingSwitch(uuid) : undefined;
  };
  for (const lane of workerLanes) {
    const source = new SqsEventSource({
      queueUrl: resources.queueUrls[lane.name],
      queueArn: resources.queueArns[lane.name],
      batchSize: lane.batchSize,
      maxConcurrency: lane.maxConcurrency,
      mapping: switchOf(lane.name),
      invoke: timed('worker', (event: SQSEvent) => (workers.get(lane.name) as FunctionHost).invoke<SQSBatchResponse>(event)),
      onError: (error) => {
        if (error instanceof InvocationError) console.error(`[sluice] ${lane.name} lane: worker invocation failed: ${error.message}`);
        else onError(`${lane.name} lane`)(error);
      },
    });
    source.start();
    consumers.set(lane.name, source);
    stops.unshift(() => source.stop());
  }

  const long = LANES.find((l) => l.consumer === 'launcher');
  if (long) {
    const source = new SqsEventSource({
      queueUrl: resources.queueUrls[long.name],
      queueArn: resources.queueArns[long.name],
      batchSize: long.batchSize,
      maxConcurrency: long.maxConcurrency,
      mapping: switchOf(long.name),
      invoke: timed(
        'launcher',
        (event: SQSEvent) => launcher.handler(event, lambdaContext('launcher', LAUNCHER_TIMEOUT_SECONDS * 1000)),
        LAUNCHER_TIMEOUT_SECONDS,
      ),
      onError: onError('long lane'),
    });
    source.start();
    consumers.set(long.name, source);
    stops.unshift(() => source.stop());
  }

  everyInterval('sweeper', 'sweeper', () => sweeper.handler(), SWEEPER_TIMEOUT_SECONDS);

  const port = options.port ?? Number(process.env.PORT ?? 3000);
  // Requests still being handled when the server stops: awaited, so none reads the tables after teardown.
  const handling = new Set<Promise<unknown>>();
  const { server, url } = await serveHttpApi(
    // API Gateway's part: each route goes to the function the contract names.
    timed('intake', (event: APIGatewayProxyEventV2) => {
      const match = matchRoute(event.requestContext.http.method, event.rawPath);
      const serving = match.kind === 'found' && functionOf(ROUTES[match.operation]) === 'operations' ? operations : intake;
      const response = serving.handler(event);
      handling.add(response);
      void response.finally(() => handling.delete(response)).catch(() => {});
      return response;
    }),
    port,
    undefined,
    consoleAssets,
  );
  stops.unshift(() =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(async () => {
      await Promise.allSettled(handling);
    }),
  );

  let stopped: Promise<void> | undefined;
  return {
    invocations,
    workerMeter,
    url,
    endpoint,
    resources,
    containers,
    workers,
    scheduler,
    consumers,
    stop: () => {
      stopped ??= (async () => {
        for (const stop of stops) await stop().catch(onError('stop'));
        await stopEmulator().catch(onError('stop'));
      })();
      return stopped;
    },
  };
}
