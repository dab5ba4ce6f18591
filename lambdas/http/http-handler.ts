import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { withRequestLog } from '../adapters/log.js';
import type { Scope } from '../domain/scopes.js';
import { authenticate } from './authenticate.js';
import type { DependenciesProvider, HttpDependencies, RequestContext } from './context.js';
import { cors } from './cors.js';
import type { Dialect } from './dialects.js';
import { dialectErrors } from './error-handler.js';
import { headWithoutBody } from './head.js';
import { redactErrorAnswers } from './redact-answers.js';
import { requestContext } from './request-context.js';
import { selfAudit } from './self-audit.js';

export type HttpHandlerFn<D> = (
  event: APIGatewayProxyEvent,
  context: RequestContext,
  dependencies: D,
) => Promise<APIGatewayProxyResult>;

/**
 * Wraps an endpoint in the shared middleware chain (its log lines carry the request id): HEAD
 * answered without a body and CORS headers for allowed origins (outermost, on every answer), the
 * self-audit record of the call (so it sees the final status, errors included), credentials
 * redacted from error answers, dialect error bodies, parsed parameters on the context, then
 * authentication with the endpoint's scope. The endpoint gets `dependencies()` (from the
 * composition root) as its third argument; the middlewares get the parts they need from it.
 *
 * `narrowsToActor`: the handler confines every read to `principal.actor` when it is set, so tokens
 * narrowed to one actor may call it (every other endpoint refuses them with 403).
 *
 * @example
 * export const makeHandler = (dependencies: DependenciesProvider<CanaryFetchDependencies>) =>
 *   httpHandler({ dialect: 'canary', scope: 'read' }, dependencies, async (event, context, deps) => …);
 */
export const httpHandler = <D extends HttpDependencies>(
  options: { dialect: Dialect; scope: Scope; narrowsToActor?: boolean },
  dependencies: DependenciesProvider<D>,
  fn: HttpHandlerFn<D>,
) => {
  const resolve = async (): Promise<D> => dependencies();
  const chain = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext>()
    .use(headWithoutBody())
    .use(cors(async () => (await resolve()).corsAllowOrigins))
    .use(selfAudit(resolve))
    .use(redactErrorAnswers())
    .use(dialectErrors(options.dialect))
    .use(requestContext(options))
    .use(authenticate({ ...options, authenticator: async () => (await resolve()).authenticator }))
    .handler(async (event, context) => fn(event, context, await resolve()));
  return withRequestLog((event: APIGatewayProxyEvent, context: RequestContext) => chain(event, context));
};
