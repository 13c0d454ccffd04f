/**
 * Self-fencing of an execution environment whose event loop is blocked.
 *
 * An attempt holds a lease that its heartbeats renew; a task that blocks the event loop (a
 * synchronous loop, a huge JSON.parse) stops the heartbeats, its lease expires, and another
 * worker takes the task over. The old body must not go on running next to the new attempt, and
 * nothing in a blocked loop can stop it — so a watchdog thread, which a blocked main thread does
 * not block, kills the whole process once the loop has been silent for `blockedMs`: the same
 * end as a crashed worker, which Sluice already recovers from.
 *
 * Armed only while work runs: Lambda freezes an idle environment, and a frozen main thread must
 * not look blocked to the watchdog when both thaw.
 */
import { Worker } from 'node:worker_threads';

const BEAT_MS = 200;

// Shared slots: [0] last beat (ms since epoch), [1] armed count, [2] blockedMs.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const slots = new Float64Array(workerData);
const tick = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(tick, 0, 0, ${BEAT_MS});
  if (slots[1] > 0 && Date.now() - slots[0] > slots[2]) {
    process.stderr.write('[sluice] the event loop was blocked for ' + (Date.now() - slots[0]) + ' ms: stopping this environment\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}
`;

export interface EventLoopFence {
  /** Run `work` with the fence armed (nested and concurrent uses are counted). */
  armed<T>(work: () => Promise<T>): Promise<T>;
}

let fence: { slots: Float64Array } | undefined;

/** Start the watchdog once per process; later calls only update `blockedMs`. */
export function eventLoopFence(blockedMs: number): EventLoopFence {
  if (!fence) {
    const buffer = new SharedArrayBuffer(3 * Float64Array.BYTES_PER_ELEMENT);
    const slots = new Float64Array(buffer);
    slots[0] = Date.now();
    const watchdog = new Worker(WATCHDOG, { eval: true, workerData: buffer });
    watchdog.unref();
    setInterval(() => {
      slots[0] = Date.now();
    }, BEAT_MS).unref();
    fence = { slots };
  }
  const { slots } = fence;
  slots[2] = blockedMs;
  return {
    async armed(work) {
      slots[0] = Date.now();
      slots[1] += 1;
      try {
        return await work();
      } finally {
        slots[1] -= 1;
      }
    },
  };
}
