/** The task table's shape, shared by the CDK construct and the local runtime's provisioning. */
export const TASK_TABLE = {
  partitionKey: 'pk',
  sortKey: 'id',
  /** Idempotency claims expire through TTL. */
  timeToLiveAttribute: 'expiresAt',
  /** The dispatcher needs the new image; the old one lets stream consumers see what changed. */
  streamViewType: 'NEW_AND_OLD_IMAGES',
  /**
   * Sparse index of tasks the sweeper must find (SCHEDULED tasks, container leases). Keys only:
   * its items stay tiny, so each index write is one unit.
   */
  sweepIndex: { name: 'sweep', partitionKey: 'sweepShard', sortKey: 'sweepAt' },
} as const;
