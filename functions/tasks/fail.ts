import * as z from 'zod/mini';
import { defineTask } from '#core/task-types.ts';

/** Fails its first `times` attempts, then succeeds: a way to watch retries. */
export default defineTask({
  type: 'fail',
  payload: z.object({
    times: z._default(z.number().check(z.int(), z.minimum(0)), 1),
    message: z._default(z.string().check(z.maxLength(1000)), 'planned failure'),
  }),
  async run({ times, message }, ctx) {
    if (ctx.attempt <= times) throw new Error(`${message} (attempt ${ctx.attempt} of ${times} planned)`);
    return { succeededOnAttempt: ctx.attempt };
  },
});
