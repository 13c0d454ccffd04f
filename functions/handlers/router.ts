/**
 * One HTTP function's routing: the contract's matcher finds the operation, the function's table of
 * handlers serves it, and errors become responses in one place (http.ts). A route another function
 * serves is not this function's (on AWS, API Gateway never sends it here): 404.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { matchRoute, type OperationId } from '#api/contract.ts';
import { MethodNotAllowed, RouteNotFound } from '#core/errors.ts';
import { errorResponse, fromEvent, type HttpRequest, type HttpResponse } from './http.ts';

/** A handler gets the request and the route's path parameters, by name. */
export type RouteHandler = (request: HttpRequest, params: Readonly<Record<string, string>>) => Promise<HttpResponse>;

export function router(handlers: Partial<Record<OperationId, RouteHandler>>): (request: HttpRequest) => Promise<HttpResponse> {
  return async (request) => {
    const match = matchRoute(request.method, request.path);
    if (match.kind === 'wrong-method') {
      throw new MethodNotAllowed(`${request.method} is not allowed on ${request.path}; use ${match.allowed.join(', ')}`);
    }
    const serve = match.kind === 'found' ? handlers[match.operation] : undefined;
    if (match.kind !== 'found' || !serve) throw new RouteNotFound(`no route for ${request.method} ${request.path}`);
    return serve(request, match.params);
  };
}

/** The Lambda handler around a router: parse the event, route, map errors (5xx logged). */
export function httpHandler(route: (request: HttpRequest) => Promise<HttpResponse>, logger: Logger) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResponse> => {
    const request = fromEvent(event);
    try {
      return await route(request);
    } catch (error) {
      const response = errorResponse(error);
      if (response.statusCode >= 500) logger.error('request failed', { method: request.method, path: request.path, error: error as Error });
      return response;
    }
  };
}
