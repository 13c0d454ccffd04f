/** One local execution environment: loads the handler once, then serves invocations over IPC. */
import { pathToFileURL } from 'node:url';

import { drainMeter } from '#core/clients.ts';

const [modulePath, exportName] = process.argv.slice(2);
const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, (event: unknown, context: unknown) => Promise<unknown>>;
const handler = mod[exportName];
if (typeof handler !== 'function') throw new Error(`${modulePath} has no export ${exportName}`);

process.on('message', async (m: { id: number; event: unknown; deadline: number }) => {
  const context = {
    functionName: 'local',
    awsRequestId: `local-${m.id}`,
    getRemainingTimeInMillis: () => Math.max(0, m.deadline - Date.now()),
  };
  try {
    const result = await handler(m.event, context);
    process.send?.({ id: m.id, ok: true, result, meter: drainMeter() });
  } catch (error) {
    process.send?.({ id: m.id, ok: false, error: (error as Error)?.message ?? String(error), meter: drainMeter() });
  }
});
process.send?.({ type: 'ready' });
