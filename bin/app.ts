import { App } from 'aws-cdk-lib';
import { SluiceStack } from '../lib/sluice-stack.ts';

const app = new App();

/** `cdk deploy -c longJobs=false`: a stack without containers (no Docker needed to deploy it). */
function longJobsContext(): false | undefined {
  const value: unknown = app.node.tryGetContext('longJobs');
  if (value === undefined || value === true || value === 'true') return undefined;
  if (value === false || value === 'false') return false;
  throw new Error(`context longJobs must be true or false, got ${JSON.stringify(value)}`);
}

new SluiceStack(app, 'Sluice', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  scheduler: { longJobs: longJobsContext() },
});
