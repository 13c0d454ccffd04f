/**
 * A task type for the chaos test only (loaded into every worker environment and container with
 * the runtime's `taskModules`, never shipped): it records each execution — task, attempt,
 * process, its start, a tick every 50 ms and its end — as lines in the file SLUICE_CHAOS_LOG, so
 * overlapping executions of one task can be found afterwards, even across SIGKILLed processes.
 */
import { appendFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { defineTask, delay } from '#core/task-types.ts';
import { taskRegistry } from '#tasks/index.ts';

export const RECORDING_TYPE = 'chaos-record';
export const TICK_MS = 50;

export interface ExecutionMark {
  task: string;
  attempt: number;
  pid: number;
  /** Unique per execution of the body. */
  execution: string;
  event: 'begin' | 'tick' | 'end';
  at: number;
}

let executions = 0;

const recording = defineTask({
  type: RECORDING_TYPE,
  payload: z.object({
    ms: z.number().check(z.int(), z.minimum(0), z.maximum(600_000)),
    steps: z.number().check(z.int(), z.minimum(1), z.maximum(100)),
  }),
  async run({ ms, steps }, ctx) {
    const log = process.env.SLUICE_CHAOS_LOG;
    const execution = `${process.pid}-${++executions}`;
    const mark = (event: ExecutionMark['event']) => {
      if (log)
        appendFileSync(
          log,
          `${JSON.stringify({ task: ctx.id, attempt: ctx.attempt, pid: process.pid, execution, event, at: Date.now() })}\n`,
        );
    };
    mark('begin');
    const ticker = setInterval(() => mark('tick'), TICK_MS);
    try {
      for (let step = 1; step <= steps; step++) {
        await delay(ms / steps, ctx.signal);
        await ctx.progress((100 * step) / steps, `step ${step}/${steps}`);
      }
      return { steps };
    } finally {
      clearInterval(ticker);
      mark('end');
    }
  },
});

if (!taskRegistry.names().includes(RECORDING_TYPE)) taskRegistry.register(recording);
