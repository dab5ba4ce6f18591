/**
 * Every HTTP route of the service and the handler file (under lambdas/handlers/) that serves it.
 * The local gateway and the CDK construct both read this table, so they cannot disagree.
 */
export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway resource path; `{name}` marks a path parameter. */
  readonly path: string;
  readonly handler: string;
}

export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/v1/audit_trail/fetch', handler: 'canary-fetch' },
  { method: 'GET', path: '/api/public/auditlogs', handler: 'kore-auditlogs' },
  { method: 'GET', path: '/api/v1/audit-trail', handler: 'api-key-audit-trail' },
  { method: 'GET', path: '/openapi.json', handler: 'openapi' },
  { method: 'POST', path: '/api/v1/audit_trail/purge', handler: 'purge' },
  { method: 'GET', path: '/api/v1/audit_trail/purge/{job}', handler: 'purge-status' },
  { method: 'GET', path: '/api/v1/audit_trail/archives', handler: 'archives-list' },
  { method: 'GET', path: '/api/v1/audit_trail/archives/{key}', handler: 'archives-get' },
  { method: 'GET', path: '/api/v1/audit_trail/download/json', handler: 'download-json' },
  { method: 'GET', path: '/api/v1/audit_trail/download/jobs/{job}', handler: 'download-job-status' },
  { method: 'POST', path: '/api/v1/audit_trail/events', handler: 'ingest-events' },
  { method: 'GET', path: '/api/v1/tlog/checkpoint', handler: 'tlog' },
  { method: 'GET', path: '/api/v1/tlog/key', handler: 'tlog' },
  { method: 'GET', path: '/api/v1/tlog/proof/inclusion', handler: 'tlog' },
  { method: 'GET', path: '/api/v1/tlog/proof/consistency', handler: 'tlog' },
  { method: 'GET', path: '/console', handler: 'console' },
  { method: 'GET', path: '/console/{asset}', handler: 'console' },
];

/**
 * The API's binary media types. Downloads are zips returned base64-encoded by Lambda proxy
 * integrations; API Gateway decodes them to bytes only when the request's Accept header or the
 * response's Content-Type is a binary media type, and clients send anything from "*\/*" to
 * "text/html,…", so every type is binary. API Gateway then base64-encodes every request body
 * (`isBase64Encoded: true`), whatever its Content-Type; `bodyText()` (lambdas/http/request.ts)
 * decodes it, and text responses (`isBase64Encoded: false`) pass through unchanged. The CDK
 * construct declares exactly these and the local gateway encodes bodies as they say.
 */
export const BINARY_MEDIA_TYPES: readonly string[] = [
  'application/zip',
  'application/x-zip-compressed',
  '*/*',
];

/**
 * Whether API Gateway hands a request body with this Content-Type to Lambda base64-encoded: its
 * media type (parameters dropped) matches one of `binaryMediaTypes`, where `*\/*` matches every
 * body, with or without a Content-Type, and `type/*` every subtype.
 */
export const isBinaryMediaType = (
  contentType: string | undefined,
  binaryMediaTypes: readonly string[] = BINARY_MEDIA_TYPES,
): boolean => {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return binaryMediaTypes.some((pattern) => {
    const wanted = pattern.toLowerCase();
    if (wanted === '*/*') return true;
    if (wanted.endsWith('/*')) return mediaType.startsWith(wanted.slice(0, -1));
    return mediaType === wanted;
  });
};

/** The authorizer's handler file. */
export const AUTHORIZER_HANDLER = 'authorizer';
/** Answers every method and path no route serves (404/405 in the dialect's shape). */
export const FALLBACK_HANDLER = 'not-found';

const patterns = new Map<string, { regex: RegExp; names: string[] }>();
const patternOf = (path: string) => {
  let pattern = patterns.get(path);
  if (!pattern) {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        const name = /^\{(\w+)\}$/.exec(segment)?.[1];
        if (!name) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+)';
      })
      .join('/');
    pattern = { regex: new RegExp(`^${source}/?$`), names };
    patterns.set(path, pattern);
  }
  return pattern;
};

/** The path parameters of `path` under `route`, or undefined when it does not match. */
export const matchRoute = (route: Route, path: string): Record<string, string> | undefined => {
  const { regex, names } = patternOf(route.path);
  const match = regex.exec(path);
  if (!match) return undefined;
  try {
    return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? '')]));
  } catch {
    // Malformed percent-encoding: no route serves such a path (the fallback answers 404).
    return undefined;
  }
};

export const routeMatches = (route: Route, path: string): boolean => matchRoute(route, path) !== undefined;

/**
 * Every method `path` answers, in the order `Allow` lists them: its routes' methods, HEAD wherever
 * GET is served (the GET handler answers it, without a body), and OPTIONS (answered by the
 * fallback: `Allow`, and a CORS preflight when CORS is on). Empty for a path no route serves.
 */
export const methodsAt = (path: string): string[] => {
  const methods: string[] = ROUTES.filter((route) => routeMatches(route, path)).map((route) => route.method);
  if (methods.length === 0) return [];
  if (methods.includes('GET')) methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
  return [...methods, 'OPTIONS'];
};

/** The route serving `method` at `path` and its path parameters; HEAD is served by the GET route. */
export const findRoute = (
  method: string,
  path: string,
): { route: Route; parameters: Record<string, string> } | undefined => {
  const served = method === 'HEAD' ? 'GET' : method;
  for (const route of ROUTES) {
    if (route.method !== served) continue;
    const parameters = matchRoute(route, path);
    if (parameters) return { route, parameters };
  }
  return undefined;
};
