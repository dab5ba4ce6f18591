import { randomBytes } from 'node:crypto';
import type { EventDraft } from '../../lambdas/domain/record.js';
import { bulkWrite } from '../../local/bulk-write.js';
import type { TestService } from './local-service.js';
import { inspectZip } from './zip.js';

/** What the download and export-job tests share: the routes, the shapes they read, the fixtures. */
export const DOWNLOAD = '/api/v1/audit_trail/download/json';
export const FETCH = '/api/v1/audit_trail/fetch';

/** The canary fields these tests read. */
export interface CanaryEntry {
  id: number;
  action_type: string;
  message: string | null;
  additional_information: Record<string, unknown> | null;
}

/** The 202 and job-status answers of export jobs. */
export interface JobBody {
  result: string;
  message: string;
  job_id: string;
  status: string;
}

/**
 * GET `path` with `token` as `auth_token`, without following redirects (a 303 is the answer under
 * test) and without the OpenAPI check of `service.request` (the body is read as text).
 */
export const getWithToken = async (service: TestService, path: string, token: string) => {
  const url = new URL(path, service.url);
  url.searchParams.set('auth_token', token);
  const response = await fetch(url, { redirect: 'manual' });
  const text = await response.text();
  // As `service.request` does: the call's self-audit record is stored before the test goes on.
  await service.drainSelfAudit();
  return { response, url, text };
};

/** Every entry of the token's tenant as fetch pages them (newest first). */
export const fetchAll = async (service: TestService, token: string): Promise<CanaryEntry[]> => {
  const entries: CanaryEntry[] = [];
  let page = (await service.get(FETCH, { auth_token: token, limit: '1000' })).body as {
    audit_trail: CanaryEntry[];
    cursor: { next: string | null };
  };
  entries.push(...page.audit_trail);
  while (page.cursor.next) {
    page = (await service.get(FETCH, { auth_token: token, cursor: page.cursor.next })).body as typeof page;
    entries.push(...page.audit_trail);
  }
  return entries;
};

/** The zip at `location` (a presigned URL), checked by `unzip`, and its JSON document. */
export const exportedEntries = async (location: string) => {
  const response = await fetch(location);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const zip = inspectZip(bytes, 'canary_audit_trail.json');
  return { response, zip, document: JSON.parse(zip.text) as { audit_trail: CanaryEntry[] } };
};

/**
 * Seeds `count` entries of ~6 KB of random base64 each, one a second back from `now`, so a zip of
 * them barely compresses (about 6 MB per 1000 entries): tests that need multipart uploads use it.
 * Returns the blobs, newest first (the order an export lists them).
 */
export const seedIncompressible = async (
  service: TestService,
  tenant: string,
  count: number,
  now: number,
): Promise<string[]> => {
  const { doc, config } = service.services;
  const blobs = Array.from({ length: count }, () => randomBytes(4500).toString('base64'));
  const drafts: EventDraft[] = blobs.map((blob, index) => ({
    timestamp: now - index * 1000,
    action_type: 'blob_stored',
    additional_information: { blob },
  }));
  await bulkWrite(doc, { eventsTable: config.EVENTS_TABLE }, tenant, drafts);
  // Exports plan their chunks from the rollup counters, which the stream consumer derives.
  await service.settle();
  return blobs;
};
