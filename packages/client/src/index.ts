/**
 * `@audit-trail/client`: a typed client of the Audit Trail Service, generated from its OpenAPI
 * description (openapi-typescript types, openapi-fetch transport) with a thin layer for paging,
 * retries, downloads and purges.
 */
export {
  type AuditTrailClient,
  type AuditTrailClientOptions,
  createAuditTrailClient,
  type IngestOptions,
} from './client.js';
export type { DownloadOptions, DownloadProgress, DownloadResult } from './download.js';
export {
  AuditTrailApiError,
  AuditTrailError,
  AuditTrailJobError,
  AuditTrailNetworkError,
  type Dialect,
  type FieldError,
  isAuditTrailError,
} from './errors.js';
export type { PurgeOptions, PurgeProgress } from './purge.js';
export { type RetryInfo, type RetryPolicy, retryAfterMs } from './retry.js';
export type * from './types.js';
