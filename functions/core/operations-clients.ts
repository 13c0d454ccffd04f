/**
 * The clients of the functions that read or steer AWS itself — Lambda for the lanes' switches (the
 * operations function flips and shows them, the sweeper's aging reads them), CloudWatch for stats
 * — apart from #core/clients.ts so no other bundle carries them.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';

const region = (): string => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

let lambda: LambdaClient | undefined;

export function lambdaClient(): LambdaClient {
  lambda ??= new LambdaClient({ region: region() });
  return lambda;
}

let cloudwatch: CloudWatchClient | undefined;

export function cloudwatchClient(): CloudWatchClient {
  cloudwatch ??= new CloudWatchClient({ region: region() });
  return cloudwatch;
}
