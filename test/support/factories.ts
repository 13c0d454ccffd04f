/** Factories for the events AWS would deliver, so tests read as specifications. */
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import type { TaskMessage } from '#core/dispatch.ts';
import type { TaskRecord } from '#core/model.ts';

export function httpEvent(
  method: string,
  path: string,
  options: { body?: string | object; headers?: Record<string, string>; query?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const body = typeof options.body === 'object' ? JSON.stringify(options.body) : options.body;
  const headers = { ...(typeof options.body === 'object' ? { 'content-type': 'application/json' } : {}), ...options.headers };
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers,
    queryStringParameters: options.query,
    requestContext: {
      accountId: '1',
      apiId: 'test',
      domainName: 'test',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

export function sqsEvent(messages: TaskMessage[], receiveCount = 1): SQSEvent {
  return {
    Records: messages.map((m, i) => ({
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
      body: JSON.stringify(m),
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: String(Date.now()),
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:1:test',
      awsRegion: 'us-east-1',
    })),
  };
}

export const lambdaContext = (): Context =>
  ({
    functionName: 'test',
    awsRequestId: 'test',
    getRemainingTimeInMillis: () => 60_000,
  }) as unknown as Context;

/** A task record as stored, with sensible values; override what the test is about. */
export const taskRecord = (over: Partial<TaskRecord> = {}): TaskRecord => ({
  id: 'a',
  type: 'echo',
  status: 'QUEUED',
  priority: 'normal',
  runtime: 'lambda',
  attempt: 0,
  maxAttempts: 3,
  timeoutSeconds: 60,
  version: 1,
  createdAt: 0,
  updatedAt: 0,
  history: [],
  ...over,
});

/** Poll `read` until `done` holds (tests synchronise on observable state, never on fixed sleeps). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
