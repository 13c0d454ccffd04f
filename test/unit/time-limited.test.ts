import { describe, expect, it } from 'vitest';
import { InvocationError, timeLimited } from '../../bin/local/function-host.ts';

describe('an in-process function stopped at its timeout', () => {
  it('answers as the function does within its time', async () => {
    const fn = timeLimited('echo', 1, async (event: number) => event * 2);
    await expect(fn(21)).resolves.toBe(42);
  });

  it('fails the invocation as a timeout when the function never answers (its source then retries)', async () => {
    const hung = timeLimited('hung', 0.05, (_event: unknown) => new Promise<never>(() => {}));
    const failure = await hung({}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvocationError);
    expect(failure).toMatchObject({ kind: 'timeout', message: 'hung: Task timed out after 0.05 seconds' });
  });

  it("passes the function's own error through", async () => {
    const failing = timeLimited('failing', 1, async (_event: unknown) => {
      throw new Error('boom');
    });
    await expect(failing({})).rejects.toThrow('boom');
  });
});
