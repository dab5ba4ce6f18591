import { createHash } from 'node:crypto';
import {
  ConflictError,
  InvariantError,
  isAuditTrailError,
  ServiceUnavailableError,
} from '../domain/errors.js';
import type { EventDraft } from '../domain/record.js';
import type { EventStore } from '../ports/event-store.js';
import type { IdempotencyStore, StoredResponse } from '../ports/idempotency-store.js';

export interface IngestDependencies {
  readonly events: EventStore;
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
 * With an idempotency key, every draft is written with a dedupe key derived from the key's claim
 * and the draft's position, atomically with the entry and its counters. So a retry, a concurrent
 * duplicate or a retry after a crash between the write and the stored response all answer the
 * same ids and write nothing twice; and a retry after a partial failure (a later transaction of a
 * big request ran out of retries) writes exactly the missing drafts.
 */
export const ingestEvents = async (
  deps: IngestDependencies,
  request: IngestRequest,
): Promise<IngestResult> => {
  if (!request.idempotency) {
    const records = await appendConfirmed(deps.events.append(request.tenant, request.drafts), false);
    return { ids: records.map((record) => requireId(record?.id)), replayed: false };
  }
  const { key, bodyHash } = request.idempotency;
  const claim = await deps.idempotency.claim(request.tenant, key, bodyHash);
  if (claim.bodyHash !== bodyHash) {
    throw new ConflictError(
      'This Idempotency-Key was already used with a different request body; use a new key for a new request',
      { field: 'Idempotency-Key' },
    );
  }
  const stored = storedIds(claim.response);
  if (stored) return { ids: stored, replayed: true };
  const keyDigest = createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32);
  const dedupeKeys = request.drafts.map((_, index) => `http#${keyDigest}#${claim.claimId}#${index}`);
  const records = await appendConfirmed(
    deps.events.append(request.tenant, request.drafts, { dedupeKeys }),
    true,
  );
  let ids: (number | undefined)[] = records.map((record) => record?.id);
  const skipped = ids.flatMap((id, index) => (id === undefined ? [index] : []));
  if (skipped.length > 0) {
    // Written by an earlier attempt with this key: answer the ids that attempt was given.
    const earlier = await deps.events.findDeduplicated(
      request.tenant,
      skipped.map((index) => dedupeKeys[index] as string),
    );
    ids = [...ids];
    skipped.forEach((index, n) => {
      ids[index] = earlier[n];
    });
  }
  const complete = ids.map(requireId);
  await deps.idempotency.complete(request.tenant, key, claim.claimId, {
    statusCode: 201,
    body: { ids: complete },
  });
  return { ids: complete, replayed: !claim.created || skipped.length > 0 };
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

const requireId = (id: number | undefined): number => {
  if (id === undefined) throw new InvariantError('an appended draft has no id');
  return id;
};

const storedIds = (response: StoredResponse | undefined): number[] | undefined => {
  const body = response?.body as { ids?: unknown } | undefined;
  if (!Array.isArray(body?.ids) || !body.ids.every((id) => typeof id === 'number')) return undefined;
  return body.ids as number[];
};
