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
import { laneDepths } from '#core/lane-depths.ts';
import { laneStats, oldestMessageAges } from '#core/lane-stats.ts';
import { LaneSwitches, laneName } from '#core/lane-switch.ts';
import { LANE_NAMES, type LaneName } from '#core/lanes.ts';
import { cloudwatchClient, lambdaClient } from '#core/operations-clients.ts';
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

/** Every lane: SQS's depths, its oldest message's age, its switch — read at once. */
async function lanes(): Promise<LaneView[]> {
  const [depths, ages, states] = await Promise.all([
    laneDepths(sqsClient(), laneQueues()),
    oldestMessageAges(cloudwatchClient(), queueNames()),
    switches().states(),
  ]);
  return depths.map((depth) => ({ ...depth, oldestQueuedAgeSeconds: ages[depth.name], ...states[depth.name] }));
}

const setLane =
  (paused: boolean): RouteHandler =>
  async (request: HttpRequest, { lane }) => {
    const name = laneName(lane);
    const state = await switches().set(name, paused, request.actor);
    const view = (await lanes()).find((l) => l.name === name) as LaneView;
    // The mapping may still report the transition's start; the answer says what was asked.
    return json(200, { ...view, ...state });
  };

const HANDLERS: Record<OperationsOf<'operations'>, RouteHandler> = {
  listLanes: async () => json(200, { items: await lanes() }),
  pauseLane: setLane(true),
  resumeLane: setLane(false),
  getStats: async (request) => {
    const { minutes } = parseOrThrow(StatsQuerySchema, request.query);
    return json(200, await laneStats(cloudwatchClient(), minutes));
  },
};

export const route = router(HANDLERS);
export const handler = httpHandler(route, logger);
