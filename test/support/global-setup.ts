/**
 * Boots the embedded emulator for the whole run unless AWS_ENDPOINT_URL (LocalStack, another
 * emulator) or SLUICE_REAL_AWS (a real account) says where AWS is.
 */
import type { TestProject } from 'vitest/node';
import { startMoto } from '../../bin/emulator.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string | null;
    /** The endpoint is the project's moto, where lane mappings can be registered (SLUICE_LOCAL_MAPPINGS=on). */
    localMappings: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.AWS_ENDPOINT_URL || process.env.SLUICE_REAL_AWS) {
    project.provide('awsEndpoint', process.env.AWS_ENDPOINT_URL ?? null);
    project.provide('localMappings', process.env.SLUICE_LOCAL_MAPPINGS === 'on');
    return async () => {};
  }
  const moto = await startMoto({ quiet: true });
  project.provide('awsEndpoint', moto.endpoint);
  // The project's moto stores SQS mappings without running them: the runtimes may register theirs.
  project.provide('localMappings', true);
  return moto.stop;
}
