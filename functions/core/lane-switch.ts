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
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LaneNotFound, LaneSwitchBusy } from './errors.ts';
import { LANE_NAMES, type LaneName } from './lanes.ts';

/** The partition of the lane switch records: `pk = LANESWITCH, id = <lane>, { paused, by, at }`. */
export const LANE_SWITCH_PARTITION = 'LANESWITCH';

/** One lane's switch record: written each time Sluice flips the lane's mapping. */
interface LaneSwitchRecord {
  lane: LaneName;
  paused: boolean;
  by: string;
  at: string;
}

/** Every lane's switch record (one Query of their partition). */
async function laneSwitchRecords(db: DynamoDBDocumentClient, table: string): Promise<LaneSwitchRecord[]> {
  const out = await db.send(
    new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': LANE_SWITCH_PARTITION } }),
  );
  return (out.Items ?? [])
    .filter((item) => (LANE_NAMES as readonly string[]).includes(item.id))
    .map((item) => ({ lane: item.id as LaneName, paused: item.paused === true, by: item.by as string, at: item.at as string }));
}

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

  /** Each lane's mapping state, one GetEventSourceMapping per consumed lane at once (`None`: nothing consumes it). */
  private mappingStates(): Promise<string[]> {
    return Promise.all(
      LANE_NAMES.map(async (lane) => {
        const uuid = this.mappings[lane];
        return uuid ? ((await this.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).State ?? 'Enabled') : 'None';
      }),
    );
  }

  /**
   * The lanes paused now, whoever paused them: the mappings' own states, so a mapping disabled in
   * AWS's console counts as much as one paused through Sluice (the sweeper's aging leaves both).
   */
  async paused(): Promise<ReadonlySet<LaneName>> {
    const states = await this.mappingStates();
    return new Set(LANE_NAMES.filter((_, i) => isPaused(states[i])));
  }

  /** Every lane's switch: its mapping's state and, while it agrees, who flipped it through Sluice (one Query, at once). */
  async states(): Promise<Record<LaneName, LaneSwitchState>> {
    const [records, mappings] = await Promise.all([laneSwitchRecords(this.db, this.table), this.mappingStates()]);
    const byLane = new Map(records.map((record) => [record.lane, record]));
    return Object.fromEntries(
      LANE_NAMES.map((lane, i) => {
        const mappingState = mappings[i];
        const paused = isPaused(mappingState);
        const record = byLane.get(lane);
        const agrees = record !== undefined && record.paused === paused;
        return [lane, { paused, mappingState, ...(agrees ? { changedBy: record.by, changedAt: record.at } : {}) }];
      }),
    ) as Record<LaneName, LaneSwitchState>;
  }
}
