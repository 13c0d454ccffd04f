/**
 * Boots the embedded emulator for the whole run unless AWS_ENDPOINT_URL (LocalStack, another
 * emulator) or SLUICE_REAL_AWS (a real account) says where AWS is.
 */
import type { TestProject } from 'vitest/node';
import { startMoto } from '../../bin/emulator.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.AWS_ENDPOINT_URL || process.env.SLUICE_REAL_AWS) {
    project.provide('awsEndpoint', process.env.AWS_ENDPOINT_URL ?? null);
    return async () => {};
  }
  const moto = await startMoto({ quiet: true });
  project.provide('awsEndpoint', moto.endpoint);
  return moto.stop;
}
