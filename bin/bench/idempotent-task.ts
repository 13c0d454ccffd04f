/**
 * A task type for the benchmark only (loaded into every process that validates or runs tasks with
 * the runtime's `taskModules`, never shipped): `echo` that declares itself idempotent, so the
 * bench can price the opted-in path — no start write, start and outcome in one — next to the
 * default exclusive start, with everything else about the task the same.
 */
import * as z from 'zod/mini';
import { defineTask } from '#core/task-types.ts';
import { taskRegistry } from '#tasks/index.ts';

export const IDEMPOTENT_TYPE = 'bench-idempotent';

const idempotentEcho = defineTask({
  type: IDEMPOTENT_TYPE,
  idempotent: true,
  payload: z.unknown(),
  async run(payload) {
    return payload ?? null;
  },
});

if (!taskRegistry.names().includes(IDEMPOTENT_TYPE)) taskRegistry.register(idempotentEcho);
