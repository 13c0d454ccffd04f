/**
 * Fuzzing the intake through the local runtime: 10,000 generated requests — valid and invalid
 * shapes, odd types, huge and unicode strings, wrong methods and paths. No request may get a 5xx,
 * every rejection carries {error: {code, message}}, and rejected requests change nothing: at the
 * end the table holds exactly the tasks whose submission was accepted.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../bin/local/runtime.ts';
import { tableItems } from '../support/aws.ts';
import { startRuntime } from '../support/runtime.ts';

let runtime: LocalRuntime;
let url: string;
beforeAll(async () => {
  ({ runtime } = await startRuntime('fuzz'));
  url = runtime.url;
});
afterAll(() => runtime.stop());

const odd = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom('', ' ', '\u0000', '💥', 'null', '-1', '1e309', '__proto__', 'constructor', '../..', '%00', 'x'.repeat(5000)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const anyValue = fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 3 }), odd);

/** Submissions that are sometimes valid: a known type plus a scatter of right and wrong fields. */
const submission = fc.record(
  {
    type: fc.oneof(fc.constantFrom('echo', 'sleep', 'fail'), odd),
    payload: fc.oneof(anyValue, fc.record({ ms: fc.integer({ min: -5, max: 50 }), steps: fc.integer({ min: 0, max: 3 }) })),
    priority: fc.oneof(fc.constantFrom('critical', 'high', 'normal', 'low'), odd),
    runtime: fc.oneof(fc.constantFrom('lambda', 'container'), odd),
    delaySeconds: fc.oneof(fc.integer({ min: -10, max: 100_000 }), odd),
    runAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      odd,
    ),
    maxAttempts: fc.oneof(fc.integer({ min: -1, max: 200 }), odd),
    timeoutSeconds: fc.oneof(fc.integer({ min: -1, max: 1_000_000 }), odd),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

const id = fc.oneof(fc.constant('01m86ghs3b2k721tmtwhexw'), fc.string({ maxLength: 30 }).map(encodeURIComponent), fc.constant(''));
const path = fc.oneof(
  fc.constant('/tasks'),
  fc.constant('/tasks/batch'),
  fc.constant('/openapi.json'),
  id.map((i) => `/tasks/${i}`),
  id.map((i) => `/tasks/${i}/events`),
  fc
    .tuple(id, fc.oneof(fc.constantFrom('pause', 'resume', 'cancel', 'retry'), fc.string({ maxLength: 10 }).map(encodeURIComponent)))
    .map(([i, a]) => `/tasks/${i}/${a}`),
  fc.webPath(),
  fc
    .tuple(fc.constantFrom('status', 'priority', 'type', 'limit', 'cursor', 'x'), fc.string({ maxLength: 20 }))
    .map(([k, v]) => `/tasks?${k}=${encodeURIComponent(v)}`),
);
const body = fc.oneof(
  fc.constant(undefined),
  submission.map((s) => JSON.stringify(s)),
  fc.array(submission, { maxLength: 5 }).map((tasks) => JSON.stringify({ tasks })),
  anyValue.map((v) => JSON.stringify(v) ?? 'undefined'),
  fc.string(),
  fc.constantFrom('{', '{"type":', '[]', '{"tasks":', '\u0000', 'a=1&b=2'),
  fc.constant(JSON.stringify({ type: 'echo', payload: 'x'.repeat(1_100_000) })),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'),
  path,
  contentType: fc.constantFrom(
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/xml',
    'multipart/form-data',
  ),
  body,
});

describe('the intake under fuzzing', () => {
  it('answers 10,000 generated requests without a 5xx, with a proper error for every rejection, writing only what it accepted', async () => {
    const accepted = new Set<string>();
    let rejections = 0;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const hasBody = r.body !== undefined && !['GET', 'OPTIONS'].includes(r.method);
        const res = await fetch(`${url}${r.path}`, {
          method: r.method,
          headers: r.contentType && hasBody ? { 'content-type': r.contentType } : {},
          body: hasBody ? r.body : undefined,
        });
        const text = await res.text();
        expect(res.status, `${r.method} ${r.path} → ${text.slice(0, 200)}`).toBeLessThan(500);
        const parsed = JSON.parse(text) as { id?: string; items?: { id: string }[]; error?: { code: unknown; message: unknown } };
        if (res.status >= 400) {
          rejections += 1;
          expect(typeof parsed.error?.code).toBe('string');
          expect(typeof parsed.error?.message).toBe('string');
        } else if (res.status === 201 && r.method === 'POST') {
          if (parsed.id) accepted.add(parsed.id);
          for (const item of parsed.items ?? []) accepted.add(item.id);
        }
      }),
      { numRuns: 10_000 },
    );
    const stored = (await tableItems(runtime.resources.tableName))
      .filter((item) => String(item.pk).startsWith('T#'))
      .map((item) => String(item.id));
    expect(new Set(stored)).toEqual(accepted);
    expect(rejections).toBeGreaterThan(5_000);
  }, 600_000);
});
