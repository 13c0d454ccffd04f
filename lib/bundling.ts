/** esbuild settings shared by the deployed Lambda bundles and the benchmark that measures them. */
import { fileURLToPath } from 'node:url';

export const LAMBDA_BUNDLE = {
  format: 'esm',
  target: 'node24',
  minify: true,
  // The module builds of the SDK tree-shake far better than the CommonJS ones.
  mainFields: ['module', 'main'],
  banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
  alias: {
    '@aws-sdk/credential-provider-node': fileURLToPath(new URL('../functions/runtime/lambda-credentials.ts', import.meta.url)),
  },
} as const;
