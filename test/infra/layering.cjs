/**
 * The layering, as dependency-cruiser rules (`npm run lint` and test/infra/layering.test.ts run them):
 * - everything under functions/ runs in AWS and knows nothing of the stack, the harness or tests;
 * - the core holds the domain: no HTTP or Lambda event shapes, no Powertools, no handlers;
 * - functions/api/ is the HTTP contract as data: it sees the core, never the handlers;
 * - lib/ (the stack) takes only shared definitions (the core's, the contract), never handler or task code.
 */
module.exports = {
  forbidden: [
    {
      name: 'functions-stay-deployable',
      comment: 'Code that runs in AWS must not depend on the CDK stack, the local runtime, the benchmark or tests.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^(lib|bin|test)/' },
    },
    {
      name: 'core-knows-no-adapters',
      comment: 'The core knows nothing of HTTP or Lambda events, the container entry, or the runtime fences.',
      severity: 'error',
      from: { path: '^functions/core/' },
      to: { path: '^functions/(handlers|container|runtime|tasks|api)/' },
    },
    {
      name: 'contract-is-data',
      comment: 'The contract is read by the stack and the CLI: it must not pull in handler or runtime code.',
      severity: 'error',
      from: { path: '^functions/api/' },
      to: { path: '^functions/(handlers|container|runtime|tasks)/' },
    },
    {
      name: 'core-knows-no-lambda',
      comment: 'No Lambda event types or Powertools in the core: those belong to the handlers.',
      severity: 'error',
      from: { path: '^functions/core/' },
      to: { path: 'node_modules/(@types/aws-lambda|@aws-lambda-powertools)/' },
    },
    {
      name: 'stack-takes-definitions-only',
      comment:
        'The stack reads shared definitions (lanes, limits, metrics, the table shape) from the core, never handler, task or runtime code.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(functions/(handlers|container|runtime|tasks)|bin|test)/' },
    },
    {
      name: 'tasks-use-the-core-only',
      comment: 'Task types are user code: they see the core (defineTask, delay), not the handlers.',
      severity: 'error',
      from: { path: '^functions/tasks/' },
      to: { path: '^functions/(handlers|container|runtime)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.d.mts', '.d.ts', '.json'],
    },
  },
};
