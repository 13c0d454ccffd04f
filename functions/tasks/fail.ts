import * as z from 'zod/mini';
import { defineTask } from '#core/task-types.ts';

/**
 * Fails its first `times` attempts, then succeeds: a way to watch retries. `crash` makes those
 * attempts fail the hard way instead of throwing: `exit` kills the worker process (as a crash or
 * out-of-memory would), `hang` never returns and ignores cancellation (as stuck code would),
 * `spin` blocks the event loop for good (so not even heartbeats run).
 */
export default defineTask({
  type: 'fail',
  payload: z.object({
    times: z._default(z.number().check(z.int(), z.minimum(0)), 1),
    message: z._default(z.string().check(z.maxLength(1000)), 'planned failure'),
    crash: z.optional(z.enum(['exit', 'hang', 'spin'])),
  }),
  async run({ times, message, crash }, ctx) {
    if (ctx.attempt <= times) {
      if (crash === 'exit') process.exit(13);
      if (crash === 'hang') await new Promise(() => {});
      if (crash === 'spin') for (;;); // blocks the event loop: only a kill stops it
      throw new Error(`${message} (attempt ${ctx.attempt} of ${times} planned)`);
    }
    return { succeededOnAttempt: ctx.attempt };
  },
});
