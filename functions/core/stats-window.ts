/**
 * GET /stats's window, apart from the CloudWatch code that reads it so the contract (and through
 * it the intake's bundle) takes the schema without the CloudWatch client.
 */
import * as z from 'zod/mini';

export const STATS_PERIOD_SECONDS = 60;
/** CloudWatch keeps one-minute data for 15 days; a console needs hours, and one answer stays small. */
export const MAX_STATS_MINUTES = 24 * 60;

/** The last `minutes` minutes, up to a day. */
export const StatsQuerySchema = z.strictObject({
  minutes: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_STATS_MINUTES)), 60),
});
