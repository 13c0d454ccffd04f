/**
 * Pausing a lane: its event source mapping's Enabled switch, which stops the consumer polling the
 * lane's queue (tasks keep arriving and wait in it; running ones finish). The switch is AWS's; who
 * flipped it and when is Sluice's, one item per lane in the task table:
 *
 *   lane switch  pk = LANESWITCH  id = <lane>   { paused, by, at }
 *
 * The mapping's state is the truth for `paused` (someone may flip it in the console of AWS); the
 * item says who changed it through Sluice, and is shown only while it agrees with the mapping.
 */
import { GetEventSourceMappingCommand, type LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LaneNotFound, LaneSwitchBusy } from './errors.ts';
import { LANE_SWITCH_PARTITION, laneSwitchRecords } from './lane-pauses.ts';
import { LANE_NAMES, type LaneName } from './lanes.ts';

export interface LaneSwitchState {
  paused: boolean;
  /** The mapping's own state: Enabled, Disabling, Disabled, Enabling, Updating … */
  mappingState: string;
  /** Who paused or resumed it through Sluice, and when (ISO 8601), while that is still the state. */
  changedBy?: string;
  changedAt?: string;
}

const isPaused = (state: string | undefined) => state === 'Disabled' || state === 'Disabling';

export const laneName = (value: string): LaneName => {
  if (!(LANE_NAMES as readonly string[]).includes(value)) throw new LaneNotFound(value);
  return value as LaneName;
};

export class LaneSwitches {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    /** Each consumed lane's event source mapping UUID (a deployment without containers consumes no long lane). */
    private readonly mappings: Readonly<Partial<Record<LaneName, string>>>,
  ) {}

  private mapping(lane: LaneName): string {
    const uuid = this.mappings[lane];
    if (!uuid) throw new LaneNotFound(lane, 'nothing consumes it in this deployment');
    return uuid;
  }

  /** Flip the lane's switch (idempotent), then record who did it. */
  async set(lane: LaneName, paused: boolean, actor: string, now = Date.now()): Promise<LaneSwitchState> {
    const uuid = this.mapping(lane);
    const out = await this.lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: !paused })).catch((error: Error) => {
      // A mapping still Enabling/Disabling/Updating takes no other change until it settles.
      if (error.name === 'ResourceInUseException' || error.name === 'ResourceConflictException') throw new LaneSwitchBusy(lane);
      throw error;
    });
    const at = new Date(now).toISOString();
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: LANE_SWITCH_PARTITION, id: lane, paused, by: actor, at } }));
    // AWS answers with the transition under way (Disabling / Enabling).
    return { paused, mappingState: out.State ?? (paused ? 'Disabled' : 'Enabled'), changedBy: actor, changedAt: at };
  }

  /** Every lane's switch: one GetEventSourceMapping per lane and one Query for the records, at once. */
  async states(): Promise<Record<LaneName, LaneSwitchState>> {
    const [records, ...mappings] = await Promise.all([
      laneSwitchRecords(this.db, this.table),
      ...LANE_NAMES.map(async (lane) => {
        const uuid = this.mappings[lane];
        return uuid ? this.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid })) : { State: 'None' };
      }),
    ]);
    const byLane = new Map(records.map((record) => [record.lane, record]));
    return Object.fromEntries(
      LANE_NAMES.map((lane, i) => {
        const mappingState = mappings[i].State ?? 'Enabled';
        const paused = isPaused(mappingState);
        const record = byLane.get(lane);
        const agrees = record !== undefined && record.paused === paused;
        return [lane, { paused, mappingState, ...(agrees ? { changedBy: record.by, changedAt: record.at } : {}) }];
      }),
    ) as Record<LaneName, LaneSwitchState>;
  }
}
