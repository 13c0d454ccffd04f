import * as z from 'zod/mini';
import { defineTask } from '#core/task-types.ts';

/** Returns its payload. */
export default defineTask({
  type: 'echo',
  payload: z.unknown(),
  async run(payload) {
    return payload ?? null;
  },
});
