/** A handler for the function host's tests: answers with its process id, after `ms`, or crashes. */
export const handler = async (event: { ms?: number; crash?: boolean }) => {
  if (event.crash) process.kill(process.pid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, event.ms ?? 0));
  return { pid: process.pid };
};
