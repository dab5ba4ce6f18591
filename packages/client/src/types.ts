import type { components, operations, paths } from './generated/openapi.js';

export type { components, operations, paths };

type Schemas = components['schemas'];
/** One entry as the canary dialect shows it. */
export type CanaryEntry = Schemas['CanaryEntry'];
/** A canary `fetch` page. */
export type CanaryPage = Schemas['CanaryFetchResponse'];
/** One entry as the kore dialect shows it. */
export type KoreEntry = Schemas['KoreEntry'];
/** A kore `auditlogs` page. */
export type KorePage = Schemas['KoreAuditLogsResponse'];
/** One entry as the api-key dialect shows it. */
export type ApiKeyEntry = Schemas['ApiKeyEntry'];
/** An api-key page. */
export type ApiKeyPage = Schemas['ApiKeyAuditTrailResponse'];
/** An event to record (`POST /api/v1/audit_trail/events`). */
export type EventDraft = Schemas['IngestRequest']['events'][number];
/** What ingest answers: the ids assigned, in order. */
export type IngestResult = Schemas['IngestResponse'];
/** A purge that finished within its request. */
export type PurgeResponse = Schemas['PurgeResponse'];
/** An export or purge job's state, as the service reports it. */
export type Job = Schemas['Job'];
/** The tenant's archive objects. */
export type ArchiveList = Schemas['ArchiveList'];

/** Canary `fetch` filters. */
export interface CanaryQuery {
  /** Only entries of this action type (`action_filter`). */
  readonly action?: string;
  /** Entries per page, 1–1000 (default 100). */
  readonly limit?: number;
  /** An IANA zone: adds `timestamp_std` in it. */
  readonly tz?: string;
  /** Start from this `next`/`prev` cursor instead of the newest page. */
  readonly cursor?: string;
}

/** Kore `auditlogs` filters. */
export interface KoreQuery {
  /** A JWT signed with a kore app's client secret (the `auth` header). */
  readonly jwt: string;
  /** Entries per page, 1–100 (default 50). */
  readonly size?: number;
  /** The first page number (default 0). */
  readonly offset?: number;
  readonly fromDate?: string;
  readonly toDate?: string;
  /** Only entries after this AuditLogId. */
  readonly fetchAfter?: string;
}

/** Api-key dialect filters. */
export interface ApiKeyQuery {
  /** `filter[startDate]`, YYYY-MM-DD (inclusive). */
  readonly startDate?: string;
  /** `filter[endDate]`, YYYY-MM-DD (inclusive). */
  readonly endDate?: string;
  /** `filter[userApiKey._id]`: one API key's requests. */
  readonly apiKeyId?: string;
  /** `page[size]`, up to 30000. */
  readonly pageSize?: number;
  /** `page[cursor]` to start from. */
  readonly cursor?: string;
}

/** Per-call options. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}
