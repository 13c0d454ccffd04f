import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-env.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/e2e/chaos.test.ts'], sequence: { groupOrder: 0 } },
      },
      // The chaos test measures recovery times against a bound: it runs alone, after the rest,
      // so the other files' load on this 2-core machine does not stretch what it measures.
      { extends: true, test: { name: 'chaos', include: ['test/e2e/chaos.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
