import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  type AuditTrailError,
  BadRequestError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../domain/errors.js';
import type { CredentialSource } from '../use-cases/authenticate.js';

/** The three public API dialects this service speaks, plus its own endpoints (canary-shaped). */
export type Dialect = 'canary' | 'kore' | 'apiKey';

/** The dialect a path belongs to (its error shape and credentials). */
export const dialectOfPath = (path: string): Dialect => {
  if (path.startsWith('/api/public/')) return 'kore';
  if (path.startsWith('/api/v1/audit-trail')) return 'apiKey';
  return 'canary';
};

/**
 * Where each dialect takes its credential, as its seed and docs/dialects.md say, and nowhere else:
 * canary (and this service's own endpoints) `auth_token` (query, or form field of a form body),
 * `x-api-key` or `Authorization: Bearer` (seeds 000/001); kore a JWT in `auth` (seed 002);
 * api-key `x-api-key` (seed 003). A credential sent another way is not seen (401).
 */
export const CREDENTIAL_SOURCES: Record<Dialect, readonly CredentialSource[]> = {
  canary: ['x-api-key', 'authorization', 'auth_token'],
  kore: ['auth'],
  apiKey: ['x-api-key'],
};

/** What a 401 for a missing credential tells the caller to send, per dialect. */
export const MISSING_CREDENTIAL_MESSAGE: Record<Dialect, string> = {
  canary: 'No credentials were provided: pass auth_token, x-api-key or Authorization: Bearer',
  kore: 'No credentials were provided: send a JWT in the auth header',
  apiKey: 'No credentials were provided: send the x-api-key header',
};

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
