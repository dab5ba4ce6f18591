import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MethodNotAllowedError, NotFoundError } from '../domain/errors.js';
import { type Dialect, errorResponse } from '../http/dialects.js';
import { redactErrorAnswers } from '../http/redact-answers.js';
import { selfAudit } from '../http/self-audit.js';
import { ROUTES, routeMatches } from '../routes.js';

/** The dialect a path belongs to, for the shape of its error body. */
export const dialectOfPath = (path: string): Dialect => {
  if (path.startsWith('/api/public/')) return 'kore';
  if (path.startsWith('/api/v1/audit-trail')) return 'apiKey';
  return 'canary';
};

/**
 * Answers requests no route serves: 405 (with `Allow`) when the path exists under another method,
 * else 404, in the dialect's error shape rather than API Gateway's own.
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(selfAudit())
  .use(redactErrorAnswers())
  .handler(async (event) => {
    const dialect = dialectOfPath(event.path);
    const allowed = ROUTES.filter((route) => routeMatches(route, event.path)).map((route) => route.method);
    if (allowed.length > 0) {
      const response = errorResponse(
        dialect,
        new MethodNotAllowedError(`${event.httpMethod} is not allowed here; use ${allowed.join(' or ')}`),
      );
      return { ...response, headers: { ...response.headers, allow: allowed.join(', ') } };
    }
    return errorResponse(dialect, new NotFoundError(`No endpoint at ${event.path.slice(0, 200)}`));
  });
