/**
 * `npm start`: Sluice on this machine. Ctrl-C stops everything it started.
 */
import { startLocalRuntime } from './local/runtime.ts';

const runtime = await startLocalRuntime();
const example = `curl -s -XPOST ${runtime.url}/tasks -H 'content-type: application/json' \\
  -d '{"type":"echo","payload":{"hi":1},"priority":"high"}'`;
console.log(`
Sluice is running at ${runtime.url}
  console      : ${runtime.url}/console/
  AWS endpoint : ${runtime.endpoint}
  table        : ${runtime.resources.tableName}
  auth         : none locally (the deployed API requires IAM SigV4); history records the actor "local"

Try it:
  ${example}
  curl -s ${runtime.url}/tasks/<id>

Ctrl-C to stop.`);

let stopping = false;
// SIGHUP too (a closed terminal): dying by a signal would skip the exit hook that stops the emulator.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, async () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\n[sluice] stopping…');
    await runtime.stop();
    process.exit(0);
  });
}
