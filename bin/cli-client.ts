/**
 * The CLI's HTTP client: finds the API (flag, SLUICE_URL, cdk-outputs.json, or the local runtime)
 * and signs requests to a deployed API with SigV4 from the default credential chain, using the
 * SDK's own signer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

export const LOCAL_URL = 'http://localhost:3000';

/** --url, then SLUICE_URL, then the deployed stack's output in cdk-outputs.json, then the local runtime. */
export function resolveBaseUrl(flag: string | undefined, cwd = process.cwd()): string {
  if (flag) return flag.replace(/\/$/, '');
  if (process.env.SLUICE_URL) return process.env.SLUICE_URL.replace(/\/$/, '');
  const outputs = `${cwd}/cdk-outputs.json`;
  if (existsSync(outputs)) {
    const stacks = JSON.parse(readFileSync(outputs, 'utf8')) as Record<string, Record<string, string>>;
    for (const values of Object.values(stacks)) {
      for (const [key, value] of Object.entries(values))
        if (/ApiUrl/i.test(key) && /^https?:\/\//.test(value)) return value.replace(/\/$/, '');
    }
  }
  return LOCAL_URL;
}

const isLocal = (url: URL) => ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);

/** execute-api hosts name their region: <api>.execute-api.<region>.amazonaws.com */
export const regionOf = (url: URL): string =>
  url.hostname.match(/\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/)?.[1] ?? process.env.AWS_REGION ?? 'us-east-1';

export async function signRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>),
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 'execute-api', region: regionOf(url), credentials, sha256: Sha256 });
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    body,
  });
  return signed.headers as Record<string, string>;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export class SluiceClient {
  /** `token`: a bearer token for a JWT-authorised deployment (then nothing is signed). */
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async request<T>(method: string, path: string, payload?: unknown, extraHeaders: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const url = new URL(`${this.baseUrl}${path}`);
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    let headers: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...extraHeaders };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    else if (!isLocal(url)) headers = await signRequest(url, method, headers, body, defaultProvider());
    const res = await fetch(url, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // API Gateway's own errors may not be JSON
    }
    return { status: res.status, body: parsed as T };
  }
}
