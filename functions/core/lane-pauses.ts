/**
 * Which lanes were paused through Sluice, from the lane switch records alone (#core/lane-switch.ts
 * owns the switch and its records): the sweeper reads them without the Lambda client. A record
 * is written when Sluice flips a lane's mapping, so a mapping flipped in AWS's console is not seen
 * here.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LANE_NAMES, type LaneName } from './lanes.ts';

/** The partition of the lane switch records: `pk = LANESWITCH, id = <lane>, { paused, by, at }`. */
export const LANE_SWITCH_PARTITION = 'LANESWITCH';

export async function lanesPausedThroughSluice(db: DynamoDBDocumentClient, table: string): Promise<ReadonlySet<LaneName>> {
  const out = await db.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': LANE_SWITCH_PARTITION } }),
  );
  return new Set(
    (out.Items ?? [])
      .filter((item) => item.paused === true && (LANE_NAMES as readonly string[]).includes(item.id))
      .map((item) => item.id as LaneName),
  );
}
