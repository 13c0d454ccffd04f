import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_URL, regionOf, resolveBaseUrl, signRequest } from '../../bin/cli-client.ts';

describe('finding the API', () => {
  const saved = process.env.SLUICE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.SLUICE_URL;
    else process.env.SLUICE_URL = saved;
  });

  it('prefers the flag, then SLUICE_URL, then cdk-outputs.json, then the local runtime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    delete process.env.SLUICE_URL;
    expect(resolveBaseUrl(undefined, dir)).toBe(LOCAL_URL);
    writeFileSync(
      join(dir, 'cdk-outputs.json'),
      JSON.stringify({ Sluice: { SluiceApiUrl1234: 'https://abc.execute-api.eu-west-1.amazonaws.com/' } }),
    );
    expect(resolveBaseUrl(undefined, dir)).toBe('https://abc.execute-api.eu-west-1.amazonaws.com');
    process.env.SLUICE_URL = 'http://example.test:9000/';
    expect(resolveBaseUrl(undefined, dir)).toBe('http://example.test:9000');
    expect(resolveBaseUrl('http://flag.test', dir)).toBe('http://flag.test');
  });

  it('reads the region from an execute-api host', () => {
    expect(regionOf(new URL('https://abc.execute-api.eu-west-1.amazonaws.com/tasks'))).toBe('eu-west-1');
  });
});

describe('SigV4 signing', () => {
  it('signs for execute-api in the API’s region, covering host and body', async () => {
    const url = new URL('https://abc.execute-api.eu-west-1.amazonaws.com/tasks?limit=5');
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const headers = await signRequest(url, 'POST', { 'content-type': 'application/json' }, '{"type":"echo"}', credentials);
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    const other = await signRequest(url, 'POST', { 'content-type': 'application/json' }, '{"type":"fail"}', credentials);
    expect(other.authorization).not.toBe(headers.authorization);
  });
});

describe('a JWT deployment', () => {
  it('sends the bearer token as the Authorization header instead of a signature', async () => {
    const { createServer } = await import('node:http');
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { port } = server.address() as { port: number };
      const { SluiceClient } = await import('../../bin/cli-client.ts');
      const answer = await new SluiceClient(`http://127.0.0.1:${port}`, 'abc.def.ghi').request('GET', '/tasks');
      expect(answer).toEqual({ status: 200, body: { ok: true } });
      await new SluiceClient(`http://127.0.0.1:${port}`).request('GET', '/tasks');
      expect(seen).toEqual(['Bearer abc.def.ghi', undefined]);
    } finally {
      server.close();
    }
  });
});
