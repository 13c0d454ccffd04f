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

/** One lane's switch record: written each time Sluice flips the lane's mapping. */
export interface LaneSwitchRecord {
  lane: LaneName;
  paused: boolean;
  by: string;
  at: string;
}

/** Every lane's switch record (one Query of their partition). */
export async function laneSwitchRecords(db: DynamoDBDocumentClient, table: string): Promise<LaneSwitchRecord[]> {
  const out = await db.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': LANE_SWITCH_PARTITION } }),
  );
  return (out.Items ?? [])
    .filter((item) => (LANE_NAMES as readonly string[]).includes(item.id))
    .map((item) => ({ lane: item.id as LaneName, paused: item.paused === true, by: item.by as string, at: item.at as string }));
}

export async function lanesPausedThroughSluice(db: DynamoDBDocumentClient, table: string): Promise<ReadonlySet<LaneName>> {
  return new Set((await laneSwitchRecords(db, table)).filter((r) => r.paused).map((r) => r.lane));
}
