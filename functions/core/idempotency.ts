/**
 * Idempotency keys, claimed with one conditional put. The claim reserves the task ids before the
 * tasks are written, so a retry after a crash between the two writes completes the first call
 * instead of creating duplicates.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { IdempotencyKeyReused, InvalidRequest } from './errors.ts';
import { IDEMPOTENCY_TTL_SECONDS } from './limits.ts';

export type IdempotencyClaim = { fresh: true } | { fresh: false; taskIds: string[] };

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export class IdempotencyStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(key: string, fingerprint: string, taskIds: readonly string[], now: number): Promise<IdempotencyClaim> {
    if (!KEY_PATTERN.test(key)) throw new InvalidRequest('Idempotency-Key: 1 to 255 visible ASCII characters', 'invalid-idempotency-key');
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `I#${key}`,
            id: 'I',
            fingerprint,
            taskIds,
            expiresAt: Math.floor(now / 1000) + IDEMPOTENCY_TTL_SECONDS,
          },
          // An expired claim (TTL deletion lags by up to days) counts as free.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': Math.floor(now / 1000) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { fresh: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || !error.Item) throw error;
      const existing = unmarshall(error.Item) as { fingerprint: string; taskIds: string[] };
      if (existing.fingerprint !== fingerprint) throw new IdempotencyKeyReused(key);
      return { fresh: false, taskIds: existing.taskIds };
    }
  }
}
