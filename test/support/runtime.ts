/** The local runtime for e2e tests, and a small HTTP client for its API. */
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '../../bin/local/runtime.ts';
import { uniquePrefix } from './aws.ts';

export interface Api {
  url: string;
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T }>;
  submit(task: Record<string, unknown>): Promise<Task>;
  /** POST /tasks/batch; throws unless it answers 201. */
  submitBatch(tasks: Record<string, unknown>[]): Promise<Task[]>;
  /** Every page of GET /tasks?{query}. */
  listAll<T extends Task = Task>(query: string): Promise<T[]>;
  get(id: string): Promise<Task>;
  /** Resolves when the task reaches one of the statuses (polls; fails after the timeout). */
  waitFor(id: string, statuses: string[] | ((t: Task) => boolean), timeoutMs?: number): Promise<Task>;
}

export type Task = Record<string, unknown> & { id: string; status: string; version: number };

export async function startRuntime(name: string, options: LocalRuntimeOptions = {}): Promise<{ runtime: LocalRuntime; api: Api }> {
  const runtime = await startLocalRuntime({ port: 0, prefix: uniquePrefix(name), quiet: true, ephemeral: true, ...options });
  return { runtime, api: apiClient(runtime.url) };
}

export function apiClient(url: string): Api {
  const api: Api = {
    url,
    async request(method, path, body, headers = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async submit(task) {
      const res = await api.request<Task>('POST', '/tasks', task);
      if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async submitBatch(tasks) {
      const res = await api.request<{ items: Task[] }>('POST', '/tasks/batch', { tasks });
      if (res.status !== 201) throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.items;
    },
    async listAll<T extends Task>(query: string) {
      const all: T[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: T[]; cursor: string | null } = (
          await api.request<{ items: T[]; cursor: string | null }>('GET', `/tasks?${query}&limit=100${cursor ? `&cursor=${cursor}` : ''}`)
        ).body;
        all.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      return all;
    },
    async get(id) {
      return (await api.request<Task>('GET', `/tasks/${id}`)).body;
    },
    async waitFor(id, statuses, timeoutMs = 30_000) {
      const done = typeof statuses === 'function' ? statuses : (t: Task) => statuses.includes(t.status);
      const deadline = Date.now() + timeoutMs;
      let last: Task | undefined;
      while (Date.now() < deadline) {
        last = await api.get(id);
        if (done(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`task ${id} did not reach ${String(statuses)} in ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
    },
  };
  return api;
}
