import { randomUUID } from 'node:crypto';
import type { Client } from 'openapi-fetch';
import { type DownloadOptions, type DownloadResult, download } from './download.js';
import type { paths } from './generated/openapi.js';
import {
  apiKeyEntries,
  apiKeyPages,
  canaryEntries,
  canaryPage,
  canaryPages,
  koreEntries,
  korePages,
} from './pages.js';
import { type PurgeOptions, type PurgeProgress, purge, purgeJob } from './purge.js';
import type { RetryPolicy } from './retry.js';
import { apiError, createTransport } from './transport.js';
import type {
  ApiKeyEntry,
  ApiKeyPage,
  ApiKeyQuery,
  ArchiveList,
  CallOptions,
  CanaryEntry,
  CanaryPage,
  CanaryQuery,
  EventDraft,
  IngestResult,
  Job,
  KoreEntry,
  KorePage,
  KoreQuery,
} from './types.js';

export interface AuditTrailClientOptions {
  /** The service's base URL, e.g. `http://127.0.0.1:3000` or your API Gateway stage URL. */
  readonly endpoint: string;
  /** An API token (`ats_…`): sent as `Authorization: Bearer`, or `x-api-key` to the api-key dialect. */
  readonly token?: string;
  /** Retries of 429/503 (after `Retry-After`) and of connection failures. */
  readonly retry?: RetryPolicy;
  /** A fetch to use instead of the global one (tests, proxies). */
  readonly fetch?: (input: Request) => Promise<Response>;
  /** Sent as `User-Agent`. */
  readonly userAgent?: string;
}

export interface IngestOptions extends CallOptions {
  /**
   * The `Idempotency-Key`: a retried request with the same key writes nothing twice.
   * @default a random UUID per call (kept across this call's own retries)
   */
  readonly idempotencyKey?: string;
}

/** The client: one method per operation, `for await` iterators for pages. */
export interface AuditTrailClient {
  /** The generated openapi-fetch client, for anything the methods below do not cover. */
  readonly api: Client<paths>;
  readonly canary: {
    /** One page (the newest, or a cursor's). */
    page(query?: CanaryQuery, options?: CallOptions): Promise<CanaryPage>;
    /** Every page, newest first. */
    pages(query?: CanaryQuery, options?: CallOptions): AsyncGenerator<CanaryPage>;
    /** Every entry, newest first. */
    entries(query?: CanaryQuery, options?: CallOptions): AsyncGenerator<CanaryEntry>;
  };
  readonly kore: {
    pages(query: KoreQuery, options?: CallOptions): AsyncGenerator<KorePage>;
    entries(query: KoreQuery, options?: CallOptions): AsyncGenerator<KoreEntry>;
  };
  readonly apiKey: {
    pages(query?: ApiKeyQuery, options?: CallOptions): AsyncGenerator<ApiKeyPage>;
    entries(query?: ApiKeyQuery, options?: CallOptions): AsyncGenerator<ApiKeyEntry>;
  };
  /** Records 1–100 events; retried safely under one `Idempotency-Key`. */
  ingest(events: readonly EventDraft[], options?: IngestOptions): Promise<IngestResult>;
  /** Downloads the zip of every entry to a file (inline, presigned URL or export job). */
  download(options: DownloadOptions): Promise<DownloadResult>;
  /** Deletes every entry with id ≤ `throughId`, waiting for the job when it runs long. */
  purge(throughId: number, options?: PurgeOptions): Promise<PurgeProgress>;
  /** A purge job's state. */
  purgeJob(jobId: string, options?: CallOptions): Promise<Job>;
  /** The tenant's archive objects. */
  archives(options?: CallOptions): Promise<ArchiveList>;
}

/**
 * Creates a client of the Audit Trail Service.
 *
 * @param options - endpoint, token, retry policy
 * @example
 * const client = createAuditTrailClient({ endpoint: 'http://127.0.0.1:3000', token: process.env.AUDIT_TRAIL_TOKEN });
 * for await (const entry of client.canary.entries({ action: 'user_login', limit: 100 })) console.log(entry.id);
 */
export const createAuditTrailClient = (options: AuditTrailClientOptions): AuditTrailClient => {
  const transport = createTransport({
    baseUrl: options.endpoint,
    token: options.token,
    retry: options.retry,
    fetch: options.fetch,
    userAgent: options.userAgent,
  });
  const signalOf = (callOptions: CallOptions = {}) =>
    callOptions.signal ? { signal: callOptions.signal } : {};
  return {
    api: transport.api,
    canary: {
      page: (query = {}, callOptions) => canaryPage(transport, query, callOptions),
      pages: (query = {}, callOptions) => canaryPages(transport, query, callOptions),
      entries: (query = {}, callOptions) => canaryEntries(transport, query, callOptions),
    },
    kore: {
      pages: (query, callOptions) => korePages(transport, query, callOptions),
      entries: (query, callOptions) => koreEntries(transport, query, callOptions),
    },
    apiKey: {
      pages: (query = {}, callOptions) => apiKeyPages(transport, query, callOptions),
      entries: (query = {}, callOptions) => apiKeyEntries(transport, query, callOptions),
    },
    ingest: async (events, ingestOptions = {}) => {
      const { data, error, response } = await transport.api.POST('/api/v1/audit_trail/events', {
        body: { events: [...events] },
        params: { header: { 'Idempotency-Key': ingestOptions.idempotencyKey ?? randomUUID() } },
        ...signalOf(ingestOptions),
      });
      if (data === undefined) throw apiError('canary', response, error);
      return data;
    },
    download: (downloadOptions) => download(transport, downloadOptions),
    purge: (throughId, purgeOptions) => purge(transport, throughId, purgeOptions),
    purgeJob: (jobId, callOptions) => purgeJob(transport, jobId, callOptions),
    archives: async (callOptions) => {
      const { data, error, response } = await transport.api.GET('/api/v1/audit_trail/archives', {
        ...signalOf(callOptions),
      });
      if (data === undefined) throw apiError('canary', response, error);
      return data;
    },
  };
};
