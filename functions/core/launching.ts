/**
 * Launching a container for a task on the `long` lane: take a slot under the container cap,
 * mark the launch (a lease the sweeper watches, in case the container never starts the task),
 * then RunTask. The container's runner starts the task with the same conditional write a worker
 * uses.
 */
import { type ContainerSlots, slotHolder } from './container-slots.ts';
import { type ContainerPlatform, LaunchDeferred } from './containers.ts';
import type { TaskMessage } from './dispatch.ts';
import { StaleVersion } from './errors.ts';
import { LAUNCH_GRACE_SECONDS } from './limits.ts';
import { isDue } from './model.ts';
import type { TaskStore } from './store.ts';

export type LaunchOutcome = { kind: 'launched'; ref: string } | { kind: 'stale' } | { kind: 'deferred'; reason: string };

export interface LaunchDeps {
  store: TaskStore;
  slots: ContainerSlots;
  platform: ContainerPlatform;
  /**
   * How long until the sweeper first looks at the launch: a container that stopped without
   * starting its task is launched again then; one still starting is looked at again.
   */
  checkMs: number;
  now?: number;
}

export async function launch(
  message: TaskMessage,
  { store, slots, platform, checkMs, now = Date.now() }: LaunchDeps,
): Promise<LaunchOutcome> {
  const task = await store.find(message.id);
  const launchable = task && task.version === message.v && (task.status === 'QUEUED' || isDue(task, now));
  if (!task || !launchable) return { kind: 'stale' };
  const holder = slotHolder(task.id, message.v);
  // The slot outlives the attempt's longest run, so a leaked one (a crash) frees itself.
  if (!(await slots.acquire(holder, now + (task.timeoutSeconds + 2 * LAUNCH_GRACE_SECONDS) * 1000, now))) {
    return { kind: 'deferred', reason: `container cap (${slots.cap}) reached` };
  }
  try {
    await store.annotate(task, {
      reason: 'launching',
      actor: 'launcher',
      bumpVersion: false,
      set: { leaseUntil: now + Math.min(checkMs, LAUNCH_GRACE_SECONDS * 1000), launchedAt: now },
      indexLease: true,
      now,
    });
  } catch (error) {
    await slots.release(holder);
    if (error instanceof StaleVersion) return { kind: 'stale' };
    throw error;
  }
  let ref: string;
  try {
    ref = await platform.run(message);
  } catch (error) {
    await slots.release(holder);
    if (error instanceof LaunchDeferred) return { kind: 'deferred', reason: error.message };
    throw error;
  }
  // Remember the container, so a launch that never starts its task can be stopped. The runner
  // may have started already (it records its own reference): then there is nothing to add.
  await store.touch(task.id, message.v, { containerRef: ref }, { status: 'QUEUED' }).catch((error: unknown) => {
    if (!(error instanceof StaleVersion)) throw error;
  });
  return { kind: 'launched', ref };
}
