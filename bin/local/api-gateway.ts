/**
 * The local stand-in for API Gateway's HTTP API: each request becomes an HTTP API v2 (payload
 * format 2.0) event for the intake handler, and the handler's result becomes the response.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type ConsoleAssets, serveConsoleAsset } from './console-assets.ts';

/** The identity the local API Gateway gives every request (history entries show it as their actor). */
export const LOCAL_CALLER = 'local';

/** API Gateway's own payload limit; beyond it the request never reaches the function. */
const GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

export type HttpFunction = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export function toEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  // Concatenate rather than resolve: a path like "//x" is a path here, not a host.
  const url = new URL(`http://localhost${req.url ?? '/'}`);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      // Where API Gateway's IAM authorizer puts the caller: locally, every caller is "local".
      ...{ authorizer: { iam: { userArn: LOCAL_CALLER, accountId: '000000000000', principalOrgId: null } } },
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.length ? body.toString('utf8') : undefined,
    isBase64Encoded: false,
  };
}

/** A request's body; 'too-large' past `maxBytes` (the rest is read and dropped); 'aborted' if the client went away. */
export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', () => resolve('aborted'));
  });
}

/**
 * Serve the API on `port`; with `staticFiles`, also those files under /console/ (the console:
 * same origin as the API, so it needs no CORS and no credentials of its own).
 */
export async function serveHttpApi(
  handler: HttpFunction,
  port: number,
  host = '127.0.0.1',
  staticFiles?: () => Promise<ConsoleAssets>,
): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    if (staticFiles && serveConsoleAsset(staticFiles, req, res)) return;
    const body = await readRequestBody(req, GATEWAY_MAX_BODY_BYTES);
    if (body === 'aborted') return void res.destroy();
    if (body === 'too-large') {
      res.writeHead(413, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'payload-too-large', message: 'request body exceeds 10 MB' } }));
      return;
    }
    try {
      const result = await handler(toEvent(req, body));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
      res.writeHead(result.statusCode ?? 200, headers);
      res.end(result.body ?? '');
    } catch (error) {
      // API Gateway answers 500 when the integration fails; so do we.
      console.error('[sluice] intake invocation failed:', error);
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error' }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}` };
}
