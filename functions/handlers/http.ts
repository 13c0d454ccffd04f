/**
 * HTTP API v2 events in, responses out: body parsing rules, the caller's identity, and the one
 * place where domain errors become HTTP statuses.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { toView } from '#api/views.ts';
import {
  IdempotencyKeyReused,
  InvalidRequest,
  InvalidTransition,
  LaneNotFound,
  LaneSwitchBusy,
  LimitNotFound,
  MalformedJson,
  MethodNotAllowed,
  PayloadTooLarge,
  RouteNotFound,
  ScheduleExists,
  ScheduleNotFound,
  SluiceError,
  StoreBusy,
  TaskNotFound,
  UnsupportedMediaType,
} from '#core/errors.ts';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

export interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  rawBody: string | undefined;
  /** Who is calling: the IAM principal or JWT subject on AWS, `local` offline. */
  actor: string;
}

/** IAM-authorised routes carry the principal; JWT routes the token's subject; none means local/anonymous. */
export function fromEvent(event: APIGatewayProxyEventV2): HttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
  const rawBody =
    event.body === undefined || event.body === null
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  const authorizer = (event.requestContext as { authorizer?: Record<string, Record<string, unknown> | undefined> }).authorizer;
  const iamArn = authorizer?.iam?.userArn as string | undefined;
  const jwtSub = (authorizer?.jwt?.claims as Record<string, unknown> | undefined)?.sub as string | undefined;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    headers,
    query: event.queryStringParameters ?? {},
    rawBody,
    actor: iamArn ?? (jwtSub ? `jwt:${jwtSub}` : 'anonymous'),
  };
}

const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json$/i;

/**
 * The body as JSON. Rules: larger than `limitBytes` → 413; declared as anything but JSON → 415;
 * not parseable → 400. `curl -d` declares application/x-www-form-urlencoded by default, so a body
 * under that type is accepted when it is a JSON object or array (a real form body is still 415).
 */
export function readJsonBody(request: HttpRequest, limitBytes: number): unknown {
  const raw = request.rawBody ?? '';
  if (Buffer.byteLength(raw) > limitBytes) throw new PayloadTooLarge(limitBytes);
  const media = (request.headers['content-type'] ?? '').split(';')[0].trim();
  const looksJson = /^\s*[[{]/.test(raw);
  const declaredJson = media === '' || JSON_MEDIA.test(media);
  const curlDefault = media.toLowerCase() === 'application/x-www-form-urlencoded' && looksJson;
  if (!declaredJson && !curlDefault) {
    throw new UnsupportedMediaType(`expected a JSON body (Content-Type: application/json), got "${media}"`);
  }
  if (raw.trim() === '') throw new MalformedJson('the request body is empty; expected a JSON object');
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new MalformedJson(`malformed JSON: ${(error as Error).message}`);
  }
}

export function json(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The one mapping from domain errors to HTTP. Anything unknown is a 500 without internals. */
export function errorResponse(error: unknown): HttpResponse {
  const status = statusOf(error);
  if (status === 500 || !(error instanceof SluiceError)) {
    return json(500, { error: { code: 'internal', message: 'internal error; see the intake logs' } });
  }
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error instanceof InvalidTransition) return json(status, { error: body, task: toView(error.task) });
  if (status === 503) return { ...json(status, { error: body }), headers: { 'content-type': 'application/json', 'retry-after': '1' } };
  return json(status, { error: body });
}

function statusOf(error: unknown): number {
  if (error instanceof InvalidRequest) return 400;
  if (
    error instanceof TaskNotFound ||
    error instanceof RouteNotFound ||
    error instanceof ScheduleNotFound ||
    error instanceof LimitNotFound ||
    error instanceof LaneNotFound
  )
    return 404;
  if (error instanceof MethodNotAllowed) return 405;
  if (
    error instanceof InvalidTransition ||
    error instanceof IdempotencyKeyReused ||
    error instanceof ScheduleExists ||
    error instanceof LaneSwitchBusy
  )
    return 409;
  if (error instanceof PayloadTooLarge) return 413;
  if (error instanceof UnsupportedMediaType) return 415;
  if (error instanceof StoreBusy) return 503;
  return 500;
}
