import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** A conditional write: true when it was made, false when its condition did not hold (other errors are thrown). */
export async function conditionally(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
