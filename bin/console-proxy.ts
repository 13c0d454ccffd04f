/**
 * `sluice console`: the console for a deployed stack, served on localhost. The page's API calls
 * go to this server, which forwards each to the deployed API through the CLI's client — signed
 * with SigV4 from the user's own AWS credentials (or carrying their bearer token) — so there is
 * no public console endpoint and IAM stays the boundary.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SluiceClient } from './cli-client.ts';
import { buildConsole, serveConsoleAsset } from './local/console-assets.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function serveConsole(client: SluiceClient, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const assets = await buildConsole();
  const server = createServer((req, res) => {
    if (serveConsoleAsset(assets, req, res)) return;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', async () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        let payload: unknown;
        try {
          payload = text ? (JSON.parse(text) as unknown) : undefined;
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'invalid-json', message: 'the request body is not JSON' } }));
          return;
        }
        const out = await client.request(req.method ?? 'GET', req.url ?? '/', payload);
        const body = typeof out.body === 'string' ? out.body : JSON.stringify(out.body);
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.status === 204 ? undefined : body);
      } catch (error) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'console-proxy-failed', message: (error as Error).message } }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, url: `http://${host}:${(server.address() as AddressInfo).port}` };
}
