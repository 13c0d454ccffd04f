/** The container's entry point. It exits explicitly: a task that ignored its abort signal may still hold the event loop. */
import { main } from './runner.ts';

process.exit(await main());
