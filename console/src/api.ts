/** The console's calls to this service's API: the canary fetch and download endpoints. */

const meta = (name: string): string =>
  document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';

/** The path prefix the API is served under (an API Gateway stage; empty locally). */
export const API_BASE = meta('audit-trail-base');
export const EMBED = meta('audit-trail-embed') === '1';
/** Origins that may frame the embed mode and post it a token. */
export const EMBED_ORIGINS = meta('audit-trail-embed-origins')
  .split(' ')
  .filter((origin) => origin.length > 0);

/** Why a call failed, as the page explains it. */
export type ApiErrorKind = 'auth' | 'forbidden' | 'invalid' | 'network' | 'server';

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  constructor(kind: ApiErrorKind, message: string) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
  }
}

/** One canary entry, as `GET /api/v1/audit_trail/fetch` lists it (other fields kept as they come). */
export interface Entry {
  readonly id: number;
  readonly action_type: string;
  readonly timestamp: string;
  readonly timestamp_std?: string;
  readonly user: string | null;
  readonly message: string | null;
  readonly [field: string]: unknown;
}

export interface Page {
  readonly audit_trail: Entry[];
  readonly cursor: { readonly next: string | null; readonly prev: string | null };
  readonly page_count: number;
  readonly page_number: number;
}

/** The filters as the fetch endpoint takes them. */
export interface Filters {
  readonly action?: string;
  readonly user?: string;
  /** UTC instants, ISO 8601 (inclusive). */
  readonly from?: string;
  readonly to?: string;
  readonly tz?: string;
}

/** Called while a rate-limited call waits for its retry (`seconds` left). */
export type WaitListener = (seconds: number) => void;

const MAX_RATE_LIMIT_RETRIES = 5;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** Seconds to wait per a `Retry-After` header (seconds or an HTTP date), 1–60. */
export const retryAfterSeconds = (header: string | null): number => {
  if (!header) return 1;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Math.min(60, Math.max(1, Math.ceil(Number.isFinite(seconds) ? seconds : 1)));
};

const messageOf = async (response: Response): Promise<string | undefined> => {
  try {
    const body = (await response.clone().json()) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
};

/**
 * GET `url` with the token as a Bearer credential (never in the URL, which servers log). A 429 waits
 * as `Retry-After` says and tries again; other failures become an {@link ApiError}.
 */
export const apiGet = async (
  url: string,
  token: string,
  options: { signal?: AbortSignal; onWait?: WaitListener } = {},
): Promise<Response> => {
  for (let attempt = 0; ; attempt += 1) {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Bearer ${token}` },
        cache: 'no-store',
        credentials: 'omit',
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiError(
        'network',
        'The audit trail service could not be reached. Check your connection and try again.',
      );
    }
    if (response.status === 429 && attempt < MAX_RATE_LIMIT_RETRIES) {
      let seconds = retryAfterSeconds(response.headers.get('retry-after'));
      while (seconds > 0) {
        options.onWait?.(seconds);
        await sleep(1000, options.signal);
        seconds -= 1;
      }
      options.onWait?.(0);
      continue;
    }
    if (response.ok || response.status === 202) return response;
    const message = await messageOf(response);
    if (response.status === 401)
      throw new ApiError(
        'auth',
        'Your token was not accepted: it is invalid, revoked or expired. Sign in again.',
      );
    if (response.status === 403) throw new ApiError('forbidden', message ?? 'This token may not do that.');
    if (response.status === 429)
      throw new ApiError('server', 'The service is still busy after several retries. Try again in a minute.');
    if (response.status >= 400 && response.status < 500)
      throw new ApiError('invalid', message ?? `The request was refused (${response.status}).`);
    throw new ApiError('server', `The service failed (${response.status}). Try again in a moment.`);
  }
};

export const FETCH_PATH = `${API_BASE}/api/v1/audit_trail/fetch`;
export const DOWNLOAD_PATH = `${API_BASE}/api/v1/audit_trail/download/json`;

/** A page of entries: the first one for `filters`, or the one `cursor` points at. */
export const fetchPage = async (
  token: string,
  request: { filters: Filters; cursor?: string; limit: number },
  options: { signal?: AbortSignal; onWait?: WaitListener } = {},
): Promise<Page> => {
  const query = new URLSearchParams();
  const { filters } = request;
  if (request.cursor) query.set('cursor', request.cursor);
  else query.set('limit', String(request.limit));
  if (filters.action) query.set('action_filter', filters.action);
  if (filters.user) query.set('user_filter', filters.user);
  if (filters.from) query.set('from', filters.from);
  if (filters.to) query.set('to', filters.to);
  if (filters.tz) query.set('tz', filters.tz);
  const response = await apiGet(`${FETCH_PATH}?${query}`, token, options);
  return (await response.json()) as Page;
};

/** Download progress: bytes received and, when the server said, the total. */
export interface Progress {
  readonly phase: 'preparing' | 'downloading';
  readonly received: number;
  readonly total: number | undefined;
}

/**
 * Downloads the zip: follows 202 (an export job: poll its Location as Retry-After says) until the
 * zip comes, inline or through a 303 to a presigned URL (fetch follows it), and streams it while
 * reporting the bytes received.
 */
export const downloadZip = async (
  token: string,
  onProgress: (progress: Progress) => void,
  options: { signal?: AbortSignal; onWait?: WaitListener } = {},
): Promise<Blob> => {
  onProgress({ phase: 'preparing', received: 0, total: undefined });
  let response = await apiGet(DOWNLOAD_PATH, token, options);
  while (response.status === 202) {
    const location = response.headers.get('location');
    if (!location) throw new ApiError('server', 'The export job gave no status URL.');
    const next = new URL(location, response.url).href;
    await sleep(retryAfterSeconds(response.headers.get('retry-after')) * 1000, options.signal);
    response = await apiGet(next, token, options);
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    const body = (await response.json()) as { message?: string; status?: string };
    throw new ApiError('server', body.message ?? 'The export failed; try again.');
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  if (!response.body) return response.blob();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  onProgress({ phase: 'downloading', received, total });
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiError('network', 'The download was interrupted. Try again.');
    }
    if (chunk.done) break;
    chunks.push(chunk.value);
    received += chunk.value.byteLength;
    onProgress({ phase: 'downloading', received, total });
  }
  return new Blob(chunks as BlobPart[], { type: 'application/zip' });
};
