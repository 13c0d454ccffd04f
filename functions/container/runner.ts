/**
 * The container runner: one task attempt in a container (Fargate on AWS, a child process
 * locally). It starts the task with the same conditional write as a Lambda worker, runs it from
 * the same registry, heartbeats a lease (whose write also returns control requests), and on
 * SIGTERM (Spot interruption, scale-in, StopTask) checkpoints and hands the task back without
 * using an attempt.
 *
 * Exit codes: 0 the task succeeded · 10 it failed (a retry may follow) · 11 it was cancelled ·
 * 12 it was paused · 13 it was handed back (SIGTERM) · 20 nothing to run (the message was stale) ·
 * 70 the runner itself failed.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { dynamo } from '#core/clients.ts';
import { requiredEnv, tableName } from '#core/config.ts';
import { ContainerSlots, slotHolder } from '#core/container-slots.ts';
import { runAttempt } from '#core/execution.ts';
import { attemptLeaseMs } from '#core/limits.ts';
import { readSettings } from '#core/settings.ts';
import { TaskStore } from '#core/store.ts';
import { taskRegistry } from '#tasks/index.ts';
import { emitAttempt } from '../handlers/telemetry.ts';
import { leaseGuard } from '../runtime/lease-fence.ts';

export const EXIT = { succeeded: 0, failed: 10, cancelled: 11, paused: 12, handedBack: 13, stale: 20, runnerError: 70 } as const;

const logger = new Logger({ serviceName: 'sluice-container' });

/** Where this container is: the ECS task ARN from the metadata endpoint, or what the local runtime says. */
async function containerRef(): Promise<string | undefined> {
  if (process.env.SLUICE_CONTAINER_REF) return process.env.SLUICE_CONTAINER_REF;
  const uri = process.env.ECS_CONTAINER_METADATA_URI_V4;
  if (!uri) return undefined;
  const res = await fetch(`${uri}/task`).catch(() => undefined);
  return ((await res?.json().catch(() => undefined)) as { TaskARN?: string } | undefined)?.TaskARN;
}

export async function main(): Promise<number> {
  const message = {
    id: requiredEnv('SLUICE_TASK_ID'),
    v: Number(requiredEnv('SLUICE_TASK_VERSION')),
    a: Number(requiredEnv('SLUICE_TASK_ATTEMPT')),
  };
  const settings = readSettings(['recoverySeconds', 'containerCap', 'cancelGraceMs']);
  const lease = { ms: attemptLeaseMs(settings.recoverySeconds), indexed: true };
  const store = new TaskStore(dynamo(), tableName());
  const slots = new ContainerSlots(dynamo(), tableName(), settings.containerCap);
  const evict = new AbortController();
  process.once('SIGTERM', () => {
    logger.warn('SIGTERM: checkpointing and handing the task back', { taskId: message.id });
    evict.abort();
  });
  try {
    const ref = await containerRef();
    const now = Date.now();
    // A container is only launched for a message; it never takes over from another container.
    const started = await store.start(message, 'container', {
      now,
      set: { leaseUntil: now + lease.ms, ...(ref ? { containerRef: ref } : {}) },
      indexLease: true,
    });
    if (!started.started) {
      logger.info('nothing to run: the task moved on', { taskId: message.id, status: started.current?.status });
      return EXIT.stale;
    }
    const task = started.started;
    const { end, final } = await runAttempt(task, {
      store,
      registry: taskRegistry,
      actor: 'container',
      evict: evict.signal,
      lease,
      cancelGraceMs: settings.cancelGraceMs,
      leaseGuard,
    });
    logger.info('attempt ended', { taskId: message.id, outcome: end.kind, status: final?.status ?? 'superseded' });
    // EMF lines on stdout, like the worker's: the awslogs driver sends them to CloudWatch Logs,
    // which extracts the metrics from any log group (locally the runtime reads the container's stdout).
    emitAttempt(task, final);
    switch (end.kind) {
      case 'succeeded':
        return EXIT.succeeded;
      case 'errored':
        return EXIT.failed;
      case 'interrupted':
        return end.control === 'cancel' ? EXIT.cancelled : EXIT.paused;
      case 'evicted':
        return EXIT.handedBack;
    }
  } catch (error) {
    logger.error('runner failed', { taskId: message.id, error: error as Error });
    return EXIT.runnerError;
  } finally {
    // The slot this container's launch took (another launch of the same task holds another one).
    await slots.release(slotHolder(message.id, message.v)).catch(() => {});
  }
}
