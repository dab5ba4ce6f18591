import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  type AuditTrailError,
  BadRequestError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../domain/errors.js';

/** The three public API dialects this service speaks, plus its own endpoints (canary-shaped). */
export type Dialect = 'canary' | 'kore' | 'apiKey';

const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** Seconds a client should wait before asking about a running job again (`Retry-After` of 202s). */
export const JOB_POLL_SECONDS = 5;

/** A JSON response. */
export const jsonResponse = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...HEADERS, ...headers },
  body: JSON.stringify(body),
});

const API_KEY_ERROR_NAMES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

/**
 * The error body of each dialect: canary `{result:"error", message}` (seed 001); api-key
 * `{message, name, status}` with 400's message as `{errors:[{field, message}]}` (seed 003); kore
 * `{errors:[{msg, code}]}` as the Kore.ai platform answers its public APIs.
 */
export const errorBody = (dialect: Dialect, error: AuditTrailError): unknown => {
  switch (dialect) {
    case 'canary':
      return { result: 'error', message: error.message };
    case 'apiKey': {
      const name = API_KEY_ERROR_NAMES[error.statusCode] ?? 'Error';
      if (error instanceof BadRequestError) {
        const errors =
          error.problems.length > 0
            ? error.problems
            : [{ field: error.field ?? 'request', message: error.message }];
        return { message: { errors }, name, status: error.statusCode };
      }
      // Seed 003 answers every authentication failure with exactly this message.
      if (error.statusCode === 401) return { message: 'Invalid token', name, status: 401 };
      return { message: error.message, name, status: error.statusCode };
    }
    case 'kore':
      return { errors: [{ msg: error.message, code: error.statusCode }] };
  }
};

/**
 * Seconds to wait before retrying, for the statuses that invite a retry (429, 503): the error's
 * own figure when it has one.
 */
export const retryAfterOf = (error: AuditTrailError): number | undefined => {
  if (error instanceof TooManyRequestsError || error instanceof ServiceUnavailableError)
    return error.retryAfterSeconds;
  if (error.statusCode === 429) return 1;
  if (error.statusCode === 503) return 5;
  return undefined;
};

/** The error response of a dialect; every 429 and 503 carries `Retry-After` (seconds). */
export const errorResponse = (dialect: Dialect, error: AuditTrailError): APIGatewayProxyResult => {
  const retryAfter = retryAfterOf(error);
  return jsonResponse(
    error.statusCode,
    errorBody(dialect, error),
    retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  );
};
