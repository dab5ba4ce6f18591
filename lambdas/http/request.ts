import type { APIGatewayProxyEvent } from 'aws-lambda';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../domain/errors.js';

/** Request headers with lower-cased names (API Gateway keeps the client's case). */
export const lowerCaseHeaders = (event: Pick<APIGatewayProxyEvent, 'headers'>): Record<string, string> => {
  // Object.fromEntries defines own keys, so a header named "__proto__" cannot touch the prototype.
  return Object.fromEntries(
    Object.entries(event.headers ?? {})
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => [name.toLowerCase(), value]),
  );
};

/**
 * Query parameters, one value each. A repeated parameter keeps its last value, as the web
 * frameworks behind the original APIs do.
 */
export const queryParameters = (
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'>,
): Record<string, string> => {
  const parameters = new Map<string, string>();
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) parameters.set(name, value);
  }
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    const last = values?.[values.length - 1];
    if (last !== undefined) parameters.set(name, last);
  }
  return Object.fromEntries(parameters);
};

/** The raw body as text (API Gateway base64-encodes binary bodies). */
export const bodyText = (event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string => {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
};

/** Form fields of an `application/x-www-form-urlencoded` body; empty for any other body. */
export const formParameters = (
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers'>,
): Record<string, string> => {
  const contentType = lowerCaseHeaders(event)['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) return {};
  return Object.fromEntries(new URLSearchParams(bodyText(event)));
};

/** The body parsed as JSON, with a 413 past `maxBytes` and a 400 for anything that is not JSON. */
export const jsonBody = (
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  maxBytes: number,
): unknown => {
  const text = bodyText(event);
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new PayloadTooLargeError(`The request body is larger than ${maxBytes} bytes`);
  }
  if (text.trim().length === 0)
    throw new BadRequestError('The request body is empty; send JSON', { field: 'body' });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('The request body is not valid JSON', { field: 'body' });
  }
};

/** A host name, IPv4 or bracketed IPv6 address, with an optional port: what `Host` may hold. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/**
 * The absolute URL of `reference` (relative, e.g. `jobs/exp_…`) resolved against the URL the
 * client called, as API Gateway saw it: its domain (`requestContext.domainName`, else `Host`), its
 * scheme (`X-Forwarded-Proto`, which API Gateway sets; https otherwise) and its full path
 * (`requestContext.path`, which keeps the stage or custom-domain base path that `event.path`
 * drops). A trailing slash on the request path is ignored, so `…/purge/` and `…/purge` agree.
 * A request whose host is not a host name is a 400 (RFC 9112 §3.2).
 */
export const absoluteLocation = (
  event: Pick<APIGatewayProxyEvent, 'headers' | 'path' | 'requestContext'>,
  reference: string,
): string => {
  const headers = lowerCaseHeaders(event);
  const host = event.requestContext?.domainName ?? headers.host ?? '';
  if (!HOST.test(host)) throw new BadRequestError('The Host header is not a valid host', { field: 'Host' });
  const forwarded = headers['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase();
  const scheme = forwarded === 'http' || forwarded === 'https' ? forwarded : 'https';
  const path = (event.requestContext?.path ?? event.path ?? '/').replace(/\/+$/, '') || '/';
  return new URL(reference, `${scheme}://${host}${path.startsWith('/') ? path : `/${path}`}`).href;
};

/** The media type of the body (`Content-Type` without parameters, lower case), or '' without one. */
export const mediaTypeOf = (event: Pick<APIGatewayProxyEvent, 'headers'>): string =>
  (lowerCaseHeaders(event)['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** `application/json` or any `application/*+json` type. */
export const isJsonMediaType = (type: string): boolean =>
  type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);

/**
 * 415 unless the body's `Content-Type` is one of `accepted` (checked with `isAccepted`). A request
 * without a body passes: there is nothing to misread.
 */
export const requireMediaType = (
  event: Pick<APIGatewayProxyEvent, 'headers' | 'body'>,
  isAccepted: (type: string) => boolean,
  accepted: string,
): void => {
  if (!event.body) return;
  const type = mediaTypeOf(event);
  if (!isAccepted(type))
    throw new UnsupportedMediaTypeError(
      `Content-Type ${type ? `"${type.slice(0, 100)}"` : '(none)'} is not accepted here; send ${accepted}`,
    );
};
