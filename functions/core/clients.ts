/**
 * SDK clients, created once per process and shared by every store and handler.
 * They honour the standard endpoint variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), so
 * the same code talks to AWS, LocalStack or moto. With a custom endpoint the SQS client must not
 * follow the AWS host inside queue URLs.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const region = (): string => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
const customEndpoint = (service: string): boolean => Boolean(process.env[`AWS_ENDPOINT_URL_${service}`] ?? process.env.AWS_ENDPOINT_URL);

let documentClient: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ region: region() }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({ region: region(), useQueueUrlAsEndpoint: !customEndpoint('SQS') });
  return sqs;
}

let scheduler: SchedulerClient | undefined;

export function schedulerClient(): SchedulerClient {
  scheduler ??= new SchedulerClient({ region: region() });
  return scheduler;
}
