import type { paths } from './generated/openapi.js';
import { apiError, type Transport } from './transport.js';
import type {
  ApiKeyEntry,
  ApiKeyPage,
  ApiKeyQuery,
  CallOptions,
  CanaryEntry,
  CanaryPage,
  CanaryQuery,
  KoreEntry,
  KorePage,
  KoreQuery,
} from './types.js';

/** One canary page: the newest, or the one a cursor points at. */
export const canaryPage = async (
  transport: Transport,
  query: CanaryQuery,
  options: CallOptions = {},
): Promise<CanaryPage> => {
  const { data, error, response } = await transport.api.GET('/api/v1/audit_trail/fetch', {
    params: {
      query: {
        ...(query.cursor !== undefined
          ? { cursor: query.cursor }
          : query.limit !== undefined
            ? { limit: query.limit }
            : {}),
        ...(query.action !== undefined ? { action_filter: query.action } : {}),
        ...(query.tz !== undefined ? { tz: query.tz } : {}),
      },
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (data === undefined) throw apiError('canary', response, error);
  return data;
};

/**
 * Every canary page, newest first, following `cursor.next` (`limit` applies to the first request;
 * the cursor carries it on).
 */
export async function* canaryPages(transport: Transport, query: CanaryQuery, options: CallOptions = {}) {
  let page = await canaryPage(transport, query, options);
  yield page;
  while (page.cursor.next !== null) {
    page = await canaryPage(transport, { ...pick(query, 'action', 'tz'), cursor: page.cursor.next }, options);
    yield page;
  }
}

/** Every canary entry, newest first, page after page. */
export async function* canaryEntries(
  transport: Transport,
  query: CanaryQuery,
  options: CallOptions = {},
): AsyncGenerator<CanaryEntry> {
  for await (const page of canaryPages(transport, query, options)) yield* page.audit_trail;
}

/** Every kore page from `offset` on, until `moreAvailable` is false. */
export async function* korePages(
  transport: Transport,
  query: KoreQuery,
  options: CallOptions = {},
): AsyncGenerator<KorePage> {
  for (let offset = query.offset ?? 0; ; offset++) {
    const { data, error, response } = await transport.api.GET('/api/public/auditlogs', {
      params: {
        query: {
          offset,
          ...(query.size !== undefined ? { size: query.size } : {}),
          ...(query.fromDate !== undefined ? { fromDate: query.fromDate } : {}),
          ...(query.toDate !== undefined ? { toDate: query.toDate } : {}),
          ...(query.fetchAfter !== undefined ? { fetchAfter: query.fetchAfter } : {}),
        },
      },
      headers: { auth: query.jwt },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (data === undefined) throw apiError('kore', response, error);
    yield data;
    if (!data.moreAvailable || data.auditlogs.length === 0) return;
  }
}

/** Every kore entry, page after page. */
export async function* koreEntries(
  transport: Transport,
  query: KoreQuery,
  options: CallOptions = {},
): AsyncGenerator<KoreEntry> {
  for await (const page of korePages(transport, query, options)) yield* page.auditlogs;
}

/** The api-key query parameters of a page (`links.next` carries them all, cursor included). */
type ApiKeyParameters = NonNullable<paths['/api/v1/audit-trail']['get']['parameters']['query']>;

const apiKeyParameters = (query: ApiKeyQuery): ApiKeyParameters => ({
  ...(query.startDate !== undefined ? { 'filter[startDate]': query.startDate } : {}),
  ...(query.endDate !== undefined ? { 'filter[endDate]': query.endDate } : {}),
  ...(query.apiKeyId !== undefined ? { 'filter[userApiKey._id]': query.apiKeyId } : {}),
  ...(query.pageSize !== undefined ? { 'page[size]': query.pageSize } : {}),
  ...(query.cursor !== undefined ? { 'page[cursor]': query.cursor } : {}),
  // A page over 1 MB is then stored for us and answered 303 (followed below) rather than 413.
  allowRedirect: true,
});

/** The next request's parameters, read from `links.next`. */
const parametersOf = (link: string): ApiKeyParameters => {
  const search = new URL(link, 'http://link.invalid').searchParams;
  const parameters: Record<string, string> = {};
  for (const [name, value] of search) parameters[name] = value;
  return { ...(parameters as ApiKeyParameters), allowRedirect: true };
};

/**
 * Every api-key page, following `links.next` (`page[cursor]`). A page too large for a response
 * (303 to a stored copy) is fetched from its `Location` without the API key.
 */
export async function* apiKeyPages(
  transport: Transport,
  query: ApiKeyQuery,
  options: CallOptions = {},
): AsyncGenerator<ApiKeyPage> {
  let parameters: ApiKeyParameters | undefined = apiKeyParameters(query);
  while (parameters !== undefined) {
    const { data, error, response } = await transport.api.GET('/api/v1/audit-trail', {
      params: { query: parameters },
      redirect: 'manual',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let page: ApiKeyPage;
    if (data !== undefined) page = data;
    else if (response.status === 303)
      page = (await transport.fromStorage(response, options.signal).then((r) => r.json())) as ApiKeyPage;
    else throw apiError('api-key', response, error);
    yield page;
    parameters = page.links.next === null ? undefined : parametersOf(page.links.next);
  }
}

/** Every api-key entry, page after page. */
export async function* apiKeyEntries(
  transport: Transport,
  query: ApiKeyQuery,
  options: CallOptions = {},
): AsyncGenerator<ApiKeyEntry> {
  for await (const page of apiKeyPages(transport, query, options)) yield* page.data;
}

const pick = <T extends object, K extends keyof T>(value: T, ...keys: K[]): Pick<T, K> => {
  const picked = {} as Pick<T, K>;
  for (const key of keys) if (value[key] !== undefined) picked[key] = value[key];
  return picked;
};
