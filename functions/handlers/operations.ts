/**
 * Operations: the API's routes that read AWS itself rather than the table (GET /lanes: SQS's
 * depths), in a function of their own so the intake's bundle carries no SQS client. A thin
 * adapter like the intake: the contract routes, the core answers.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { OperationsOf } from '#api/contract.ts';
import { sqsClient } from '#core/clients.ts';
import { laneQueuesWithDlq } from '#core/config.ts';
import { laneDepths } from '#core/lane-depths.ts';
import { json } from './http.ts';
import { httpHandler, type RouteHandler, router } from './router.ts';
import { perEnvironment } from './services.ts';

const logger = new Logger({ serviceName: 'sluice-operations' });
const laneQueues = perEnvironment(laneQueuesWithDlq);

const HANDLERS: Record<OperationsOf<'operations'>, RouteHandler> = {
  listLanes: async () => json(200, { items: await laneDepths(sqsClient(), laneQueues()) }),
};

export const route = router(HANDLERS);
export const handler = httpHandler(route, logger);
