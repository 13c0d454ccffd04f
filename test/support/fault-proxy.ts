/**
 * A fault-injecting HTTP proxy in front of the AWS endpoint: requests go through unchanged unless
 * a rule answers them itself (an error, a throttle) or rewrites the real answer. Tests point one
 * service's endpoint at it (AWS_ENDPOINT_URL_<SERVICE>) to see how Sluice behaves when AWS fails
 * — over real HTTP, against the real emulator, never a mock of the SDK.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  /** The operation, from X-Amz-Target (`DynamoDB_20120810.BatchWriteItem` → `BatchWriteItem`). */
  operation: string;
  body: Record<string, unknown>;
}

export type FaultRule = (request: ProxiedRequest) =>
  | undefined
  /** Answer with this instead of forwarding. */
  | { status: number; body: Record<string, unknown> }
  /** Forward, then change the answer. */
  | { rewrite: (answer: Record<string, unknown>) => Record<string, unknown> };

export class FaultProxy {
  private server: Server | undefined;
  rules: FaultRule[] = [];
  /** Operations seen, in order. */
  readonly seen: string[] = [];

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const operation =
          String(req.headers['x-amz-target'] ?? '')
            .split('.')
            .pop() ?? '';
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw.toString() || '{}');
        } catch {
          // not JSON: forwarded untouched
        }
        this.seen.push(operation);
        const rule = this.rules.map((r) => r({ operation, body })).find((r) => r !== undefined);
        if (rule && 'status' in rule) {
          res.writeHead(rule.status, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify(rule.body));
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        const answer = await fetch(`${this.target}${req.url ?? '/'}`, { method: req.method, headers, body: raw.length ? raw : undefined });
        let text = await answer.text();
        if (rule && 'rewrite' in rule && answer.ok) text = JSON.stringify(rule.rewrite(JSON.parse(text)));
        const out: Record<string, string> = {};
        answer.headers.forEach((v, k) => {
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'x-amz-crc32'].includes(k)) out[k] = v;
        });
        res.writeHead(answer.status, out);
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
