import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { Scope } from '../domain/scopes.js';
import { authenticate } from './authenticate.js';
import type { RequestContext } from './context.js';
import { cors } from './cors.js';
import type { Dialect } from './dialects.js';
import { dialectErrors } from './error-handler.js';
import { headWithoutBody } from './head.js';
import { redactErrorAnswers } from './redact-answers.js';
import { requestContext } from './request-context.js';
import { selfAudit } from './self-audit.js';

export type HttpHandlerFn = (
  event: APIGatewayProxyEvent,
  context: RequestContext,
) => Promise<APIGatewayProxyResult>;

/**
 * Wraps an endpoint in the shared middleware chain: HEAD answered without a body and CORS headers
 * for allowed origins (outermost, on every answer), the self-audit record of the call (so it sees
 * the final status, errors included), credentials redacted from error answers, dialect error bodies, services and parsed parameters on the
 * context, then authentication with the endpoint's scope.
 *
 * `narrowsToActor`: the handler confines every read to `principal.actor` when it is set, so tokens
 * narrowed to one actor may call it (every other endpoint refuses them with 403).
 *
 * @example
 * export const handler = httpHandler({ dialect: 'canary', scope: 'read' }, async (event, context) => …);
 */
export const httpHandler = (
  options: { dialect: Dialect; scope: Scope; narrowsToActor?: boolean },
  fn: HttpHandlerFn,
) =>
  middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext>()
    .use(headWithoutBody())
    .use(cors())
    .use(selfAudit())
    .use(redactErrorAnswers())
    .use(dialectErrors(options.dialect))
    .use(requestContext(options))
    .use(authenticate(options))
    .handler(fn);
