/** Task types that exist only in tests, registered into the deployment's registry on demand. */
import * as z from 'zod/mini';
import { defineTask } from '#core/task-types.ts';
import { taskRegistry } from '#tasks/index.ts';

/** An idempotent type (sleeps `ms` in `steps`, reporting progress): the cheap one-write path. */
export const IDEMPOTENT = 'test-idempotent';

const idempotentSleep = defineTask({
  type: IDEMPOTENT,
  idempotent: true,
  payload: z.object({ ms: z.number(), steps: z._default(z.number(), 1) }),
  async run({ ms, steps }, ctx) {
    for (let step = 1; step <= steps; step++) {
      await new Promise((r) => setTimeout(r, ms / steps));
      await ctx.progress((100 * step) / steps);
    }
    return { slept: ms };
  },
});

export function registerTestTypes(): void {
  if (!taskRegistry.names().includes(IDEMPOTENT)) taskRegistry.register(idempotentSleep);
}
