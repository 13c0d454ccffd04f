/**
 * The container cap as a semaphore in the task table: one item whose `holders` map names the
 * tasks that hold a slot (with an expiry, so a slot leaked by a crash frees itself). Acquiring is
 * one conditional write; counting running ECS tasks instead would let concurrent launchers
 * overshoot the cap.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

const KEY = { pk: 'CAP#containers', id: 'CAP' };

/**
 * Who holds a slot: one launch of a task, named by the message version it launched. A stale
 * runner of an earlier launch then releases its own slot, never the live launch's.
 */
export const slotHolder = (taskId: string, version: number): string => `${taskId}#${version}`;

export class ContainerSlots {
  private created: Promise<void> | undefined;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    readonly cap: number,
  ) {}

  /** Take a slot for `holder` until `expiresAt` (or keep the one it holds). False when all are taken. */
  async acquire(holder: string, expiresAt: number, now = Date.now()): Promise<boolean> {
    // The item must exist before a condition reads its map (and an emulator may fail otherwise).
    this.created ??= this.create();
    await this.created;
    for (let round = 0; round < 3; round++) {
      try {
        await this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: KEY,
            UpdateExpression: 'SET holders.#task = :expires',
            ConditionExpression: 'size(holders) < :cap OR attribute_exists(holders.#task)',
            ExpressionAttributeNames: { '#task': holder },
            ExpressionAttributeValues: { ':expires': expiresAt, ':cap': this.cap },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          if (isMissingMap(error) && round === 0) {
            await this.create();
            continue;
          }
          throw error;
        }
        if (!error.Item) {
          await this.create();
          continue;
        }
        const holders = (unmarshall(error.Item).holders ?? {}) as Record<string, number>;
        const expired = Object.entries(holders).filter(([, at]) => at < now);
        if (expired.length === 0) return false;
        await Promise.all(expired.map(([id, at]) => this.releaseIf(id, at)));
      }
    }
    return false;
  }

  /** Give a slot back (idempotent). */
  async release(holder: string): Promise<void> {
    await this.removeHolder(holder, 'attribute_exists(holders)', {});
  }

  /** Free an expired slot, unless its holder renewed it meanwhile. */
  private async releaseIf(holder: string, expiresAt: number): Promise<void> {
    await this.removeHolder(holder, 'holders.#task = :expires', { ':expires': expiresAt });
  }

  /** One conditional REMOVE; a failed condition means there is nothing (more) to free. */
  private async removeHolder(holder: string, condition: string, values: Record<string, unknown>): Promise<void> {
    await this.db
      .send(
        new UpdateCommand({
          TableName: this.table,
          Key: KEY,
          UpdateExpression: 'REMOVE holders.#task',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#task': holder },
          ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
        }),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }

  private async create(): Promise<void> {
    await this.db
      .send(new PutCommand({ TableName: this.table, Item: { ...KEY, holders: {} }, ConditionExpression: 'attribute_not_exists(pk)' }))
      .catch((error: unknown) => {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      });
  }
}

const isMissingMap = (error: unknown) =>
  error instanceof Error && error.name === 'ValidationException' && /document path|does not exist/i.test(error.message);
