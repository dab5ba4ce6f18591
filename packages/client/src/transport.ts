import createClient, { type Client } from 'openapi-fetch';
import { AuditTrailApiError, AuditTrailNetworkError, type Dialect } from './errors.js';
import type { paths } from './generated/openapi.js';
import { type RetryPolicy, retryAfterMs, retryingFetch } from './retry.js';

/** What every operation uses: the typed API client and a fetch for presigned storage URLs. @internal */
export interface Transport {
  /** The openapi-fetch client: typed paths, credentials and retries applied. */
  readonly api: Client<paths>;
  /** The service's base URL, ending in `/`. */
  readonly baseUrl: string;
  /** Follows a 303 to a presigned URL: a GET without the service's credentials, with retries. */
  fromStorage(redirect: Response, signal?: AbortSignal): Promise<Response>;
}

export interface TransportOptions {
  readonly baseUrl: string;
  readonly token?: string | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly fetch?: ((input: Request) => Promise<Response>) | undefined;
  readonly userAgent?: string | undefined;
}

/** The dialect of a service path. */
const dialectOf = (url: string): Dialect => {
  const { pathname } = new URL(url);
  if (pathname.includes('/api/public/auditlogs')) return 'kore';
  if (pathname.includes('/api/v1/audit-trail')) return 'api-key';
  return 'canary';
};

/** Turns a connection failure into an AuditTrailNetworkError (keeping aborts as they are). */
const reachable =
  (fetcher: (input: Request) => Promise<Response>) =>
  async (request: Request): Promise<Response> => {
    try {
      return await fetcher(request);
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new AuditTrailNetworkError(new URL(request.url).origin, { cause: error });
    }
  };

/** @internal */
export const createTransport = (options: TransportOptions): Transport => {
  const baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const base = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const fetcher = reachable(retryingFetch(base, options.retry));
  const api = createClient<paths>({ baseUrl: baseUrl.replace(/\/$/, ''), fetch: fetcher });
  const { token, userAgent } = options;
  api.use({
    onRequest({ request }) {
      if (userAgent) request.headers.set('user-agent', userAgent);
      if (token === undefined || request.headers.has('auth')) return request;
      // Canary endpoints take a bearer token; the api-key dialect its `x-api-key` header. Never
      // `auth_token` in the query string, where proxies and logs would keep it.
      if (dialectOf(request.url) === 'api-key') request.headers.set('x-api-key', token);
      else request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return {
    api,
    baseUrl,
    fromStorage: async (redirect, signal) => {
      const location = redirect.headers.get('location');
      if (!location) {
        throw new AuditTrailApiError({
          status: redirect.status,
          dialect: 'canary',
          body: 'a 303 without Location',
        });
      }
      const response = await fetcher(new Request(new URL(location, redirect.url), signal ? { signal } : {}));
      if (!response.ok) throw await apiErrorOf('storage', response);
      return response;
    },
  };
};

/** The typed error for a response openapi-fetch did not return as data. @internal */
export const apiError = (dialect: Dialect, response: Response, body: unknown): AuditTrailApiError =>
  new AuditTrailApiError({
    status: response.status,
    dialect,
    body,
    retryAfterSeconds: retryAfterSeconds(response),
  });

/** The typed error for a raw response, reading its body. @internal */
export const apiErrorOf = async (dialect: Dialect, response: Response): Promise<AuditTrailApiError> => {
  const text = await response.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (S3 answers XML): keep the text.
  }
  return apiError(dialect, response, body);
};

const retryAfterSeconds = (response: Response): number | undefined => {
  const ms = retryAfterMs(response.headers.get('retry-after'));
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
};
