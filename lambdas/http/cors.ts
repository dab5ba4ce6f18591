import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { log } from '../adapters/log.js';
import { lowerCaseHeaders } from './request.js';

/** Request headers a browser page may send: every credential form, the body's type, idempotency. */
export const CORS_ALLOWED_HEADERS = ['auth', 'authorization', 'content-type', 'idempotency-key', 'x-api-key'];
/** Response headers a browser page may read beyond the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [
  'allow',
  'content-disposition',
  'idempotent-replayed',
  'location',
  'retry-after',
];
/** How long a browser may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

/** The request's `Origin` when it is on `allowed` (exact match), else undefined. */
export const allowedOrigin = (
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  allowed: readonly string[],
): string | undefined => {
  const origin = lowerCaseHeaders(event).origin;
  return origin !== undefined && allowed.includes(origin) ? origin : undefined;
};

/** Headers of an answer to a page of `origin` (already checked against the allow-list). */
export const corsResponseHeaders = (origin: string): Record<string, string> => ({
  'access-control-allow-origin': origin,
  'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', '),
  vary: 'Origin',
});

/**
 * A preflight's headers for `origin` (on the allow-list) at a path answering `methods`: the
 * methods, the allowed request headers (those asked for that are allowed), and how long to cache.
 */
export const preflightHeaders = (
  event: Pick<APIGatewayProxyEvent, 'headers'>,
  origin: string,
  methods: readonly string[],
): Record<string, string> => {
  const asked = (lowerCaseHeaders(event)['access-control-request-headers'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => CORS_ALLOWED_HEADERS.includes(name));
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': methods.join(', '),
    'access-control-allow-headers': (asked.length > 0 ? asked : CORS_ALLOWED_HEADERS).join(', '),
    'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
};

/** Reads the configured allow-list of origins (the composition root's, per configuration). */
export type CorsOrigins = () => Promise<readonly string[]>;

/** The configured allow-list; empty (CORS off) when the configuration cannot be read. */
export const corsOrigins = async (origins: CorsOrigins): Promise<readonly string[]> => {
  try {
    return await origins();
  } catch (error) {
    log.error('CORS configuration unreadable', { error: error instanceof Error ? error.name : 'unknown' });
    return [];
  }
};

const decorate = async (
  request: { event: APIGatewayProxyEvent; response: APIGatewayProxyResult | null | undefined },
  origins: CorsOrigins,
) => {
  // A preflight answer already carries its own (fuller) CORS headers.
  if (!request.response || request.response.headers?.['access-control-allow-origin'] !== undefined) return;
  const origin = allowedOrigin(request.event, await corsOrigins(origins));
  if (origin === undefined) return;
  request.response = {
    ...request.response,
    headers: { ...request.response.headers, ...corsResponseHeaders(origin) },
  };
};

/**
 * CORS on every answer, errors included: when the request's `Origin` is on the configured
 * allow-list (`CORS_ALLOW_ORIGINS`), the answer names it in `Access-Control-Allow-Origin` and
 * exposes the headers clients need (`Location`, `Retry-After`, …). Off by default: with an empty
 * list no answer carries an `Access-Control-*` header. Preflights are the fallback's (OPTIONS).
 */
export const cors = (origins: CorsOrigins): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  after: (request) => decorate(request, origins),
  onError: (request) => decorate(request, origins),
});
