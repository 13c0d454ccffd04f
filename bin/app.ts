import { App } from 'aws-cdk-lib';
import { SluiceStack } from '../lib/sluice-stack.ts';

const app = new App();

/** A true/false context value (`-c name=false`), or undefined when not given. */
function booleanContext(name: string): boolean | undefined {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined) return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${name} must be true or false, got ${JSON.stringify(value)}`);
}

new SluiceStack(app, 'Sluice', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  scheduler: {
    // `-c longJobs=false`: a stack without containers (no Docker needed to deploy it).
    longJobs: booleanContext('longJobs') === false ? false : undefined,
    // `-c dashboard=true`: the CloudWatch dashboard ($3 a month beyond an account's first three).
    dashboard: booleanContext('dashboard'),
  },
});
