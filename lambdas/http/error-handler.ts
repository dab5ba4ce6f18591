import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { InternalError, isAuditTrailError } from '../domain/errors.js';
import { type Dialect, errorResponse } from './dialects.js';
import { log } from './log.js';

/**
 * Turns thrown errors into the dialect's error body. Domain errors show their message; anything
 * else is logged (name and stack only, never the request) and answered with a bare 500.
 */
export const dialectErrors = (
  dialect: Dialect,
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  onError: async (request) => {
    if (request.response && request.response.statusCode < 500) return;
    const { error } = request;
    if (isAuditTrailError(error)) {
      request.response = errorResponse(dialect, error);
      return;
    }
    log.error('unhandled error', {
      error: error instanceof Error ? { name: error.name, stack: error.stack } : String(error),
    });
    request.response = errorResponse(dialect, new InternalError('Internal error'));
  },
});
