/** One local execution environment: loads the handler once, then serves invocations over IPC. */
import { pathToFileURL } from 'node:url';

import { drainMeter } from '../bench/meter.ts';

const [modulePath, exportName] = process.argv.slice(2);
const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, (event: unknown, context: unknown) => Promise<unknown>>;
const handler = mod[exportName];
if (typeof handler !== 'function') throw new Error(`${modulePath} has no export ${exportName}`);

// The host is gone (it stopped or crashed): an orphaned environment must not go on running task
// bodies next to the ones a new host starts.
process.on('disconnect', () => process.exit(0));
const reply = (message: unknown) => process.send?.(message, undefined, {}, () => {});

process.on('message', async (m: { id: number; event: unknown; deadline: number }) => {
  const context = {
    functionName: 'local',
    awsRequestId: `local-${m.id}`,
    getRemainingTimeInMillis: () => Math.max(0, m.deadline - Date.now()),
  };
  try {
    const result = await handler(m.event, context);
    reply({ id: m.id, ok: true, result, meter: drainMeter() });
  } catch (error) {
    reply({ id: m.id, ok: false, error: (error as Error)?.message ?? String(error), meter: drainMeter() });
  }
});
reply({ type: 'ready' });
