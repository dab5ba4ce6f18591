import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { httpDependencies } from '../composition/http.js';
import { isAuditTrailError, MethodNotAllowedError, NotFoundError } from '../domain/errors.js';
import type { DependenciesProvider, HttpDependencies } from '../http/context.js';
import { allowedOrigin, cors, corsOrigins, preflightHeaders } from '../http/cors.js';
import { dialectOfPath, errorResponse } from '../http/dialects.js';
import { headWithoutBody } from '../http/head.js';
import { redactErrorAnswers } from '../http/redact-answers.js';
import { lowerCaseHeaders } from '../http/request.js';
import { requestState } from '../http/request-state.js';
import { selfAudit } from '../http/self-audit.js';
import { methodsAt } from '../routes.js';

/** The dialect a path belongs to, for the shape of its error body. */
export { dialectOfPath } from '../http/dialects.js';

/**
 * OPTIONS on a path the service serves: 204 with `Allow`. A CORS preflight (`Origin` and
 * `Access-Control-Request-Method`) from an allowed origin also gets the `Access-Control-*`
 * answer; from any other origin, or with CORS off, it gets none, so the browser refuses.
 */
const options = async (
  event: APIGatewayProxyEvent,
  methods: string[],
  origins: () => Promise<readonly string[]>,
): Promise<APIGatewayProxyResult> => {
  const headers: Record<string, string> = {
    allow: methods.join(', '),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  const origin = allowedOrigin(event, await corsOrigins(origins));
  if (origin !== undefined && lowerCaseHeaders(event)['access-control-request-method'] !== undefined)
    Object.assign(headers, preflightHeaders(event, origin, methods));
  return { statusCode: 204, headers, body: '' };
};

/**
 * The 404 or 405 in the error shape of the path's dialect, a 405 naming the methods the path does
 * serve (`Allow`); the message shown is kept for the self-audit record.
 */
const pathErrors: MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> = {
  onError: async (request) => {
    const { error, event } = request;
    if (!isAuditTrailError(error)) return;
    requestState(request).shownError = error.message;
    const response = errorResponse(dialectOfPath(event.path), error);
    request.response =
      error.statusCode === 405
        ? { ...response, headers: { ...response.headers, allow: methodsAt(event.path).join(', ') } }
        : response;
  },
};

/**
 * Answers requests no route serves: OPTIONS on a known path (204, `Allow`, CORS preflight); 405
 * (with `Allow`) when the path exists under other methods, else 404, in the dialect's error shape
 * rather than API Gateway's own.
 */
export const makeHandler = (dependencies: DependenciesProvider<HttpDependencies>) => {
  const resolve = async () => dependencies();
  const origins = async () => (await resolve()).corsAllowOrigins;
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(headWithoutBody())
    .use(cors(origins))
    .use(selfAudit(resolve))
    .use(redactErrorAnswers())
    .use(pathErrors)
    .handler(async (event) => {
      const methods = methodsAt(event.path);
      if (methods.length === 0) throw new NotFoundError(`No endpoint at ${event.path.slice(0, 200)}`);
      if (event.httpMethod === 'OPTIONS') return options(event, methods, origins);
      throw new MethodNotAllowedError(`${event.httpMethod} is not allowed here; use ${methods.join(', ')}`);
    });
};

export const handler = withRequestLog(makeHandler(() => httpDependencies(environmentConfig())));
