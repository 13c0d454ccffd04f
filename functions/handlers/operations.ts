/**
 * Operations: the API's routes that read or steer AWS itself rather than the task table's tasks —
 * lanes (SQS's depths, the event source mappings' pause switches), per-minute stats (CloudWatch) —
 * in a function of their own so the intake's bundle carries none of those clients. A thin adapter
 * like the intake: the contract routes, the core answers.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LaneView, OperationsOf } from '#api/contract.ts';
import { dynamo, sqsClient } from '#core/clients.ts';
import { laneMappings, laneQueuesWithDlq, tableName } from '#core/config.ts';
import { type LaneDepth, laneDepths } from '#core/lane-depths.ts';
import { laneStats, oldestMessageAges } from '#core/lane-stats.ts';
import { LaneSwitches, laneName } from '#core/lane-switch.ts';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { cloudwatchClient, lambdaClient } from '#core/operations-clients.ts';
import { readSettings } from '#core/settings.ts';
import { StatsQuerySchema } from '#core/stats-window.ts';
import { parseOrThrow } from '#core/submission.ts';
import { type HttpRequest, json } from './http.ts';
import { httpHandler, type RouteHandler, router } from './router.ts';
import { perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-operations' });
const laneQueues = perEnvironment(laneQueuesWithDlq);
const switches = perEnvironment(() => new LaneSwitches(lambdaClient(), dynamo(), tableName(), laneMappings()));
const queueNames = perEnvironment(
  () => Object.fromEntries(LANE_NAMES.map((lane) => [lane, laneQueues()[lane].url.split('/').pop() as string])) as Record<LaneName, string>,
);

/**
 * A read shared by the calls one environment serves within `ttlMs` (a console polls every few
 * seconds; GetMetricData is billed per metric read and Lambda's control-plane API is rate-limited).
 * A failed refresh serves the last value while there is one.
 */
function cachedFor<K, T>(ttlMs: () => number, read: (key: K) => Promise<T>) {
  const entries = new Map<K, { at: number; value: Promise<T> }>();
  const get = async (key: K): Promise<T> => {
    const entry = entries.get(key);
    if (entry && Date.now() - entry.at < ttlMs()) return entry.value;
    const value = read(key);
    entries.set(key, { at: Date.now(), value });
    try {
      return await value;
    } catch (error) {
      if (!entry) {
        entries.delete(key);
        throw error;
      }
      entries.set(key, entry);
      return entry.value;
    }
  };
  return Object.assign(get, { forget: () => entries.clear() });
}

// SQS publishes the age each minute; the switches change only through Sluice (or AWS's console).
const cacheMs = perEnvironment(() => readSettings(['operationsCacheMs']).operationsCacheMs);
const ages = cachedFor(cacheMs, () => oldestMessageAges(cloudwatchClient(), queueNames()));
const states = cachedFor(
  () => Math.min(5_000, cacheMs()),
  () => switches().states(),
);
const stats = cachedFor(cacheMs, (minutes: number) => laneStats(cloudwatchClient(), minutes));

/** Every lane: SQS's depths, its oldest message's age, its switch — read at once. */
async function lanes(): Promise<LaneView[]> {
  const [depths, age, state] = await Promise.all([laneDepths(sqsClient(), laneQueues()), ages(undefined), states(undefined)]);
  return depths.map((depth) => ({ ...depth, oldestQueuedAgeSeconds: age[depth.name], ...state[depth.name] }));
}

const setLane =
  (paused: boolean): RouteHandler =>
  async (request: HttpRequest, { lane }) => {
    const name = laneName(lane);
    const state = await switches().set(name, paused, request.actor);
    states.forget();
    // The switch is set: the rest of the answer must not turn it into an error.
    const depths = (await laneDepths(sqsClient(), laneQueues())).find((l) => l.name === name) as LaneDepth;
    const age = await ages(undefined).catch(() => undefined);
    // The mapping may still report the transition's start; the answer says what was asked.
    return json(200, { ...depths, oldestQueuedAgeSeconds: age?.[name] ?? 0, ...state } satisfies LaneView);
  };

const HANDLERS: Record<OperationsOf<'operations'>, RouteHandler> = {
  listLanes: async () => json(200, { items: await lanes() }),
  pauseLane: setLane(true),
  resumeLane: setLane(false),
  getStats: async (request) => {
    const { minutes } = parseOrThrow(StatsQuerySchema, request.query);
    return json(200, await stats(minutes));
  },
};

export const route = router(HANDLERS);
export const handler = httpHandler(route, logger);
