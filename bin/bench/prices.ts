/**
 * AWS list prices, us-east-1, as of 2026-11-24 (the figures issue D gives, checked against the
 * public pricing pages below). Every cost the benchmark reports is computed from these and from
 * measured counts — nothing else.
 *
 * Sources:
 * - API Gateway HTTP APIs, first 300 M requests/month: https://aws.amazon.com/api-gateway/pricing/
 * - Lambda requests and Arm duration: https://aws.amazon.com/lambda/pricing/
 * - SQS standard queues (each 64 KB chunk of a payload is a request; a batch of 10 is one): https://aws.amazon.com/sqs/pricing/
 * - DynamoDB on-demand write and read request units: https://aws.amazon.com/dynamodb/pricing/on-demand/
 * - Fargate Linux/ARM per vCPU-hour and GB-hour (1-minute minimum): https://aws.amazon.com/fargate/pricing/
 * - EventBridge Scheduler invocations, after 14 M free a month: https://aws.amazon.com/eventbridge/pricing/
 */
export const PRICES = {
  date: '2026-11-24',
  region: 'us-east-1',
  apiGatewayHttpPerRequest: 1.0 / 1e6,
  lambdaPerRequest: 0.2 / 1e6,
  lambdaArmPerGbSecond: 0.0000133334,
  sqsPerRequest: 0.4 / 1e6,
  dynamodbPerWru: 0.625 / 1e6,
  dynamodbPerRru: 0.125 / 1e6,
  fargateArmPerVcpuHour: 0.03238,
  fargateArmPerGbHour: 0.00356,
  schedulerPerInvocation: 1.0 / 1e6,
} as const;

/** The comparison points of issue D, per million short tasks (100 ms, 256 MB). */
export const ANCHORS = [
  { name: 'straightforward SQS + Lambda + DynamoDB', usdPerMillion: 3.98 },
  { name: 'naive design (REST API, x86, batch size 1, five 2 KB writes)', usdPerMillion: 11.57 },
  { name: 'Step Functions Standard, 3 states', usdPerMillion: 75 },
  { name: 'AWS Batch on Fargate', usdPerMillion: 165 },
] as const;

/** The task the cost model assumes runs inside the worker: 100 ms at 256 MB on arm64. */
export const TASK_COMPUTE = { seconds: 0.1, memoryGb: 0.25 } as const;

/** What one task's requests cost, by line, in dollars (the bench and the scale model price alike). */
export function taskCostLines(perTask: {
  apiGateway: number;
  lambdaInvocations: number;
  sqs: number;
  dynamodbWru: number;
  dynamodbRru: number;
}): Record<'apiGateway' | 'lambdaRequests' | 'taskCompute' | 'sqs' | 'dynamodbWrites' | 'dynamodbReads', number> {
  return {
    apiGateway: perTask.apiGateway * PRICES.apiGatewayHttpPerRequest,
    lambdaRequests: perTask.lambdaInvocations * PRICES.lambdaPerRequest,
    taskCompute: TASK_COMPUTE.seconds * TASK_COMPUTE.memoryGb * PRICES.lambdaArmPerGbSecond,
    sqs: perTask.sqs * PRICES.sqsPerRequest,
    dynamodbWrites: perTask.dynamodbWru * PRICES.dynamodbPerWru,
    dynamodbReads: perTask.dynamodbRru * PRICES.dynamodbPerRru,
  };
}
