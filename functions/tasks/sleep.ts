import * as z from 'zod/mini';
import { defineTask, delay } from '#core/task-types.ts';

const State = z.object({ step: z.number() });

/**
 * Sleeps `ms` in `steps` equal steps, reporting progress and checkpointing after each one, so a
 * paused or re-queued task continues from the step it reached.
 */
export default defineTask({
  type: 'sleep',
  payload: z.object({
    ms: z.number().check(z.int(), z.minimum(0), z.maximum(86_400_000)),
    steps: z._default(z.number().check(z.int(), z.minimum(1), z.maximum(10_000)), 1),
  }),
  async run({ ms, steps }, ctx) {
    const saved = State.safeParse(ctx.state);
    const from = saved.success ? saved.data.step : 0;
    for (let step = from + 1; step <= steps; step++) {
      await delay(ms / steps, ctx.signal);
      await ctx.checkpoint({ step });
      await ctx.progress(Math.round((step / steps) * 100), `step ${step}/${steps}`);
    }
    return { slept: ms, steps, resumedFrom: from };
  },
});
