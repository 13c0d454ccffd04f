/** The task table's shape, shared by the CDK construct and the local runtime's provisioning. */
export const TASK_TABLE = {
  partitionKey: 'pk',
  sortKey: 'id',
  /** Idempotency claims expire through TTL. */
  timeToLiveAttribute: 'expiresAt',
  /** The dispatcher needs the new image; the old one lets stream consumers see what changed. */
  streamViewType: 'NEW_AND_OLD_IMAGES',
} as const;
