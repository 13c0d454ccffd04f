/**
 * Lambda functions always get their role's credentials in the environment, so their bundles swap
 * the SDK's default credential chain (SSO, STS, INI files, IMDS: ~75 KB they never use) for this.
 * Wired by esbuild's alias in lib/bundling.ts; the container runner keeps the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
