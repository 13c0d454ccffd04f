import { describe, expect, it } from 'vitest';
import { InvalidRequest, TaskNotFound } from '#core/errors.ts';
import { errorResponse, type HttpRequest, readJsonBody } from '#handlers/http.ts';

const request = (rawBody: string | undefined, contentType?: string): HttpRequest => ({
  method: 'POST',
  path: '/tasks',
  headers: contentType ? { 'content-type': contentType } : {},
  query: {},
  rawBody,
  actor: 'test',
});

const statusOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return errorResponse(error).statusCode;
  }
  return 'no error';
};

describe('reading a JSON body', () => {
  it('accepts JSON media types, with parameters', () => {
    expect(readJsonBody(request('{"a":1}', 'application/json; charset=utf-8'), 100)).toEqual({ a: 1 });
    expect(readJsonBody(request('{"a":1}', 'application/vnd.api+json'), 100)).toEqual({ a: 1 });
  });

  it("accepts curl -d's default media type only when the body is JSON", () => {
    expect(readJsonBody(request('{"a":1}', 'application/x-www-form-urlencoded'), 100)).toEqual({ a: 1 });
    expect(statusOf(() => readJsonBody(request('a=1&b=2', 'application/x-www-form-urlencoded'), 100))).toBe(415);
  });

  it('answers 415 for bodies declared as something else', () => {
    expect(statusOf(() => readJsonBody(request('{"a":1}', 'text/plain'), 100))).toBe(415);
    expect(statusOf(() => readJsonBody(request('<a/>', 'application/xml'), 100))).toBe(415);
  });

  it('answers 400 for malformed or empty JSON, 413 past the limit', () => {
    expect(statusOf(() => readJsonBody(request('{"a":', 'application/json'), 100))).toBe(400);
    expect(statusOf(() => readJsonBody(request('', 'application/json'), 100))).toBe(400);
    expect(statusOf(() => readJsonBody(request(`{"a":"${'x'.repeat(200)}"}`, 'application/json'), 100))).toBe(413);
  });
});

describe('error responses', () => {
  it('carry {error: {code, message}} with the mapped status', () => {
    const r = errorResponse(new TaskNotFound('abc'));
    expect(r.statusCode).toBe(404);
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'task-not-found', message: 'task abc does not exist' } });
    expect(errorResponse(new InvalidRequest('bad')).statusCode).toBe(400);
  });

  it('hide internals of unexpected errors', () => {
    const r = errorResponse(new Error('secret stack detail'));
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('secret');
  });
});
