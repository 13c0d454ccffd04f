/**
 * `sluice console`: the console for a deployed stack, served on localhost. The page's API calls
 * go to this server, which forwards each to the deployed API through the CLI's client — signed
 * with SigV4 from the user's own AWS credentials (or carrying their bearer token) — so there is
 * no public console endpoint and IAM stays the boundary.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SluiceClient } from './cli-client.ts';
import { readRequestBody } from './local/api-gateway.ts';
import { consoleAssets, serveConsoleAsset } from './local/console-assets.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function serveConsole(client: SluiceClient, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    if (serveConsoleAsset(consoleAssets, req, res)) return;
    const body = await readRequestBody(req, MAX_BODY_BYTES);
    const reply = (status: number, answer: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(typeof answer === 'string' ? answer : JSON.stringify(answer));
    if (body === 'aborted') return void res.destroy();
    if (body === 'too-large') return reply(413, { error: { code: 'payload-too-large', message: 'request body exceeds 10 MB' } });
    let payload: unknown;
    try {
      payload = body.length ? (JSON.parse(body.toString('utf8')) as unknown) : undefined;
    } catch {
      return reply(400, { error: { code: 'invalid-json', message: 'the request body is not JSON' } });
    }
    try {
      const out = await client.request(req.method ?? 'GET', req.url ?? '/', payload);
      if (out.status === 204) res.writeHead(204).end();
      else reply(out.status, out.body);
    } catch (error) {
      reply(502, { error: { code: 'console-proxy-failed', message: (error as Error).message } });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, url: `http://${host}:${(server.address() as AddressInfo).port}` };
}
