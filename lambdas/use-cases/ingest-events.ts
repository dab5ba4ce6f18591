import { ConflictError, isAuditTrailError, ServiceUnavailableError } from '../domain/errors.js';
import type { EventDraft } from '../domain/record.js';
import type { EventStore } from '../ports/event-store.js';
import type { IdempotencyStore, StoredResponse } from '../ports/idempotency-store.js';

export interface IngestDependencies {
  readonly events: Pick<EventStore, 'append' | 'reserveIds'>;
  readonly idempotency: IdempotencyStore;
}

export interface IngestRequest {
  readonly tenant: string;
  readonly drafts: readonly EventDraft[];
  /** The request's Idempotency-Key and the hash of its body, when it sent one. */
  readonly idempotency?: { readonly key: string; readonly bodyHash: string };
}

/** The ids assigned to the drafts, in order, and the status to answer with. */
export interface IngestResult {
  readonly ids: number[];
  /** True when this answer replays (or completes) an earlier request with the same key. */
  readonly replayed: boolean;
}

/**
 * Stores a producer's events and returns their ids in order.
 *
 * With an idempotency key, the entries' ids are reserved and recorded with the key's claim before
 * anything is written, so a retry, a concurrent duplicate or a retry after a crash writes the very
 * same entries (a plain overwrite with identical content, which changes nothing) and answers the
 * same ids: nothing is stored twice.
 */
export const ingestEvents = async (
  deps: IngestDependencies,
  request: IngestRequest,
): Promise<IngestResult> => {
  if (!request.idempotency) {
    const records = await appendConfirmed(deps.events.append(request.tenant, request.drafts), false);
    return { ids: records.map((record) => record.id), replayed: false };
  }
  return appendOnce(deps, request.tenant, request.drafts, request.idempotency, true);
};

/**
 * Appends `drafts` once per `key` (an HTTP Idempotency-Key, an EventBridge event id, a purge job):
 * whatever the number of attempts, the drafts are stored under one set of ids, recorded with the
 * claim before the first write. `withKey` says whether a caller's key is at stake (for the
 * wording of an unconfirmed write).
 */
export const appendOnce = async (
  deps: IngestDependencies,
  tenant: string,
  drafts: readonly EventDraft[],
  idempotency: { readonly key: string; readonly bodyHash: string },
  withKey = false,
  claimOptions: { readonly lifetimeSeconds?: number } = {},
): Promise<IngestResult> => {
  const { key, bodyHash } = idempotency;
  const claim = await deps.idempotency.claim(tenant, key, bodyHash, claimOptions);
  if (claim.bodyHash !== bodyHash) {
    throw new ConflictError(
      'This Idempotency-Key was already used with a different request body; use a new key for a new request',
      { field: 'Idempotency-Key' },
    );
  }
  const stored = storedIds(claim.response);
  if (stored) return { ids: stored, replayed: true };
  const ids =
    claim.ids ??
    (await deps.idempotency.assignIds(tenant, key, claim.claimId, await deps.events.reserveIds(drafts)));
  const records = await appendConfirmed(deps.events.append(tenant, drafts, { ids }), withKey);
  const written = records.map((record) => record.id);
  // A conditional id that another writer had taken was replaced while writing: a retry must
  // write the replacement, not the taken id.
  if (written.some((id, index) => id !== ids[index])) {
    await deps.idempotency.assignIds(tenant, key, claim.claimId, written, { replace: true });
  }
  await deps.idempotency.complete(tenant, key, claim.claimId, { statusCode: 201, body: { ids: written } });
  return { ids: written, replayed: !claim.created || claim.ids !== undefined };
};

/**
 * A store failure the event store could not classify (a timeout or dropped connection after the
 * SDK's retries) leaves the outcome unknown: some events may be stored. That is a 503 telling the
 * caller how to retry safely, not a 500. (Failures the store did classify, such as a partly written
 * request, keep their own error and message.)
 */
const appendConfirmed = async <T>(append: Promise<T>, withKey: boolean): Promise<T> => {
  try {
    return await append;
  } catch (error) {
    if (isAuditTrailError(error)) throw error;
    throw new ServiceUnavailableError(
      withKey
        ? 'The store did not confirm the write, so some events may be stored; retry with the same Idempotency-Key: nothing is stored twice'
        : 'The store did not confirm the write, so some events may be stored; send an Idempotency-Key to make retries safe',
      { cause: error },
    );
  }
};

const storedIds = (response: StoredResponse | undefined): number[] | undefined => {
  const body = response?.body as { ids?: unknown } | undefined;
  if (!Array.isArray(body?.ids) || !body.ids.every((id) => typeof id === 'number')) return undefined;
  return body.ids as number[];
};
