import { gunzipSync } from 'node:zlib';
import type { FeatureStores, Services } from '../../lambdas/composition/dynamodb.js';
import { MAX_ID } from '../../lambdas/domain/ids.js';
import { archiveLine } from '../../lambdas/domain/purge.js';
import { API_REQUEST_ACTION, type AuditRecord, type EventDraft } from '../../lambdas/domain/record.js';
import type { TestService } from './local-service.js';
import { settleDerivation } from './local-service.js';

/** Appends `drafts` for `tenant` in batches of 100. */
export const seed = async (services: Services, tenant: string, drafts: readonly EventDraft[]) => {
  for (let start = 0; start < drafts.length; start += 100) {
    await services.events.append(tenant, drafts.slice(start, start + 100));
  }
};

/** Every entry of a tenant, oldest first, read straight from the store. */
export const allEntries = async (services: Services, tenant: string): Promise<AuditRecord[]> => {
  const page = await services.events.queryPage({
    tenant,
    selector: { kind: 'all' },
    minId: 0,
    maxId: MAX_ID,
    newestFirst: false,
    limit: 1_000_000,
  });
  return page.records;
};

/**
 * Checks the rollup counters against a real count: the all-time total and every action's total.
 * Returns the mismatches (empty when exact).
 */
export const counterMismatches = async (
  services: Services & Pick<FeatureStores, 'counters'>,
  tenant: string,
): Promise<string[]> => {
  // Counters are exact once the stream consumer has derived every write made so far.
  await settleDerivation();
  const entries = await allEntries(services, tenant);
  const problems: string[] = [];
  const total = await services.counters.total(tenant, { kind: 'all' });
  if (total !== entries.length) problems.push(`total ${total} ≠ ${entries.length}`);
  const actions = new Map<string, number>();
  for (const entry of entries) actions.set(entry.action_type, (actions.get(entry.action_type) ?? 0) + 1);
  for (const action of [
    ...actions.keys(),
    'user_login',
    'user_logout',
    'alert_acknowledged',
    'device_settings_changed',
  ]) {
    const counted = await services.counters.total(tenant, { kind: 'action', action });
    const real = actions.get(action) ?? 0;
    if (counted !== real) problems.push(`${action}: ${counted} ≠ ${real}`);
  }
  return problems;
};

interface ArchiveListing {
  result: string;
  archives: { key: string; count: number; first_id: number; last_id: number; size: number; sha256: string }[];
}

/** Every archived line of a tenant, downloaded through the API (list, then each 303's presigned URL). */
export const archivedLines = async (service: TestService, token: string): Promise<string[]> => {
  const listing = (await service.get('/api/v1/audit_trail/archives', { auth_token: token }))
    .body as ArchiveListing;
  const lines: string[] = [];
  for (const archive of listing.archives) {
    const redirect = await service.get(`/api/v1/audit_trail/archives/${archive.key}`, { auth_token: token });
    const location = redirect.headers.get('location');
    if (redirect.status !== 303 || !location) throw new Error(`archive ${archive.key}: ${redirect.status}`);
    const object = Buffer.from(await (await fetch(location)).arrayBuffer());
    lines.push(
      ...gunzipSync(object)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.length > 0),
    );
  }
  return lines;
};

export const linesOf = (records: readonly AuditRecord[]): string[] => records.map(archiveLine);

/** A form-encoded POST body. */
export const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/**
 * An entry added by the service itself, summed up: an api_request as "METHOD uri status" (every
 * HTTP call is recorded in the caller's tenant), any other entry by its action type
 * (audit_trail_purged). A seeded kind showing up here means something other than the service wrote.
 */
export const ownRecord = (entry: AuditRecord): string =>
  entry.action_type === API_REQUEST_ACTION
    ? `${entry.request?.method} ${entry.request?.uri} ${entry.request?.status}`
    : entry.action_type;

/**
 * Compares a tenant's entries with an earlier read: `kept` are the earlier entries still there (as
 * they are now, hashes included), `added` the others, summed up by ownRecord and sorted.
 */
export const since = (earlier: readonly AuditRecord[], later: readonly AuditRecord[]) => {
  const known = new Set(earlier.map((entry) => entry.id));
  return {
    kept: later.filter((entry) => known.has(entry.id)),
    added: later
      .filter((entry) => !known.has(entry.id))
      .map(ownRecord)
      .sort(),
  };
};
