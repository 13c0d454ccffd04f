/**
 * What a schedule tick costs: the Scheduler invocation, the fire function's invocation and
 * duration, and the reads and writes it makes — counted, as for tasks, on the shared SDK clients
 * (reads) and from the table's stream (writes; the run item and the counts are written in a
 * transaction, which DynamoDB bills twice). The task a tick creates is not included: it costs what
 * any task costs (the single profile).
 */
import { drainMeter } from './meter.ts';
import { PRICES } from './prices.ts';
import { meterStream } from './stream-meter.ts';

export interface TickCost {
  ticks: number;
  perTick: { fireInvocations: number; schedulerInvocations: number; dynamodbRru: number; dynamodbWru: number; fireMs: number };
  usdPerMillionTicks: number;
  breakdown: Record<string, number>;
}

export interface TickBenchDeps {
  url: string;
  streamArn: string;
  /** Waits until the task is finished (read by the harness's own client, not metered). */
  waitFinished: (id: string) => Promise<void>;
  memoryGb: number;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function scheduleTickCost(deps: TickBenchDeps, ticks = 40): Promise<TickCost> {
  const name = `bench-${Date.now().toString(36)}`;
  const res = await fetch(`${deps.url}/schedules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, cron: '0 0 1 1 *', task: { type: 'echo', payload: { n: 1 } } }),
  });
  if (res.status !== 201) throw new Error(`schedule create answered ${res.status}`);
  const fire = await import('#handlers/schedule-fire.ts');
  const start = Date.parse('2030-01-01T00:00:00Z');
  let rru = 0;
  let fireMs = 0;
  for (let k = 0; k < ticks; k++) {
    // The usual case under overlap `skip`: the previous tick's task has finished.
    drainMeter();
    const began = performance.now();
    const out = await fire.handler({ schedule: name, scheduledTime: new Date(start + k * 60_000).toISOString() });
    fireMs += performance.now() - began;
    // Only DynamoDB requests are the fire function's (the dispatcher in this process makes SQS ones).
    rru += drainMeter()
      .filter((m) => m.service === 'dynamodb')
      .reduce((n, m) => n + (m.rru ?? 0), 0);
    if (out.outcome !== 'created' || !out.taskId) throw new Error(`tick ${k} did not create a task: ${out.outcome}`);
    await deps.waitFinished(out.taskId);
  }
  const writes = await meterStream(deps.streamArn, (image, before) => {
    if (String(image.pk).startsWith(`SRUN#${name}`)) return true;
    return image.scheduleName === name && before === undefined; // the task's creation only
  });
  // The transaction's two writes (run item, counts) are billed twice: count them again.
  const transactional = await meterStream(deps.streamArn, (image) => String(image.pk).startsWith(`SRUN#${name}`));
  const wru = (writes.tableWru + transactional.tableWru) / ticks;
  const perTick = {
    fireInvocations: 1,
    schedulerInvocations: 1,
    dynamodbRru: round(rru / ticks, 2),
    dynamodbWru: round(wru, 2),
    fireMs: round(fireMs / ticks, 1),
  };
  const breakdown = {
    scheduler: PRICES.schedulerPerInvocation * 1e6,
    lambdaRequests: PRICES.lambdaPerRequest * 1e6,
    lambdaDuration: (perTick.fireMs / 1000) * deps.memoryGb * PRICES.lambdaArmPerGbSecond * 1e6,
    dynamodbWrites: perTick.dynamodbWru * PRICES.dynamodbPerWru * 1e6,
    dynamodbReads: perTick.dynamodbRru * PRICES.dynamodbPerRru * 1e6,
  };
  const total = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return {
    ticks,
    perTick,
    usdPerMillionTicks: round(total, 2),
    breakdown: Object.fromEntries(Object.entries(breakdown).map(([k, v]) => [k, round(v, 3)])),
  };
}
