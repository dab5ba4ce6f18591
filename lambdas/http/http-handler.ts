import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Scope } from '../domain/scopes.js';
import { authenticate } from './authenticate.js';
import type { RequestContext } from './context.js';
import type { Dialect } from './dialects.js';
import { dialectErrors } from './error-handler.js';
import { redactErrorAnswers } from './redact-answers.js';
import { requestContext } from './request-context.js';
import { selfAudit } from './self-audit.js';

export type HttpHandlerFn = (
  event: APIGatewayProxyEvent,
  context: RequestContext,
) => Promise<APIGatewayProxyResult>;

/**
 * Wraps an endpoint in the shared middleware chain: the self-audit record of the call (outermost,
 * so it sees the final status, errors included), credentials redacted from error answers, dialect
 * error bodies, services and parsed
 * parameters on the context, then authentication with the endpoint's scope.
 *
 * @example
 * export const handler = httpHandler({ dialect: 'canary', scope: 'read' }, async (event, context) => …);
 */
export const httpHandler = (options: { dialect: Dialect; scope: Scope }, fn: HttpHandlerFn) =>
  middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext>()
    .use(selfAudit())
    .use(redactErrorAnswers())
    .use(dialectErrors(options.dialect))
    .use(requestContext(options))
    .use(authenticate(options))
    .handler(fn);
