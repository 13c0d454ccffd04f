/**
 * Self-fencing of an execution environment that may outlive the lease of an attempt it runs.
 *
 * An attempt holds a lease that its heartbeats renew; once the lease expires another worker may
 * take the task over, so the old body must have stopped by then. The attempt itself aborts its
 * body well before (see AttemptContext), but a body that ignores its signal, or a task that
 * blocks the event loop (a synchronous loop, a huge JSON.parse) cannot be stopped from the main
 * thread. So a watchdog thread, which a blocked main thread does not block, kills the whole
 * process when the earliest deadline held by a running attempt passes: the same end as a crashed
 * worker, which Sluice already recovers from. A renewal moves the deadline; an attempt whose body
 * has stopped gives it up.
 *
 * Nothing is held while no attempt runs: Lambda freezes an idle environment, and a frozen
 * process must not look late to the watchdog when both thaw.
 */
import { Worker } from 'node:worker_threads';
import type { LeaseGuard } from '#core/execution.ts';

const CHECK_MS = 100;

// Shared slot [0]: the earliest deadline held (ms since epoch), or 0 when none.
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const slots = new Float64Array(workerData);
const tick = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(tick, 0, 0, ${CHECK_MS});
  const deadline = slots[0];
  if (deadline > 0 && Date.now() > deadline) {
    process.stderr.write('[sluice] a running attempt outlived its lease by ' + (Date.now() - deadline) + ' ms: stopping this environment\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}
`;

let slots: Float64Array | undefined;
const held = new Map<symbol, number>();

function publish(): void {
  if (!slots) {
    const buffer = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT);
    slots = new Float64Array(buffer);
    new Worker(WATCHDOG, { eval: true, workerData: buffer }).unref();
  }
  slots[0] = held.size === 0 ? 0 : Math.min(...held.values());
}

/** A guard for one attempt: the process dies if it still holds the guard past its deadline. */
export function leaseGuard(): LeaseGuard {
  const key = Symbol('attempt');
  return {
    hold(deadline: number) {
      held.set(key, deadline);
      publish();
    },
    release() {
      if (held.delete(key)) publish();
    },
  };
}
