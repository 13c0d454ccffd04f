/**
 * One local execution environment: serves a handler's invocations over IPC. Not run directly:
 * process-bundle.ts bundles it with the handler and the preloaded modules into one file, and
 * that file calls serve().
 */
import { drainMeter } from '../bench/meter.ts';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

export function serve(module: Record<string, unknown>, exportName: string): void {
  const handler = module[exportName] as Handler;
  if (typeof handler !== 'function') throw new Error(`the handler module has no export ${exportName}`);

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
}
