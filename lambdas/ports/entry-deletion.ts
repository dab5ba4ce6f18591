import type { AuditRecord } from '../domain/record.js';

/** What deleting an entry needs to know of it: its key and the fields its counters are keyed by. */
export type PurgeTarget = Pick<
  AuditRecord,
  'tenant' | 'id' | 'timestamp' | 'action_type' | 'user' | 'api_key'
>;

/** One rollup counter change, named by the store (opaque to callers, kept as given). */
export interface CounterChange {
  readonly pk: string;
  readonly sk: string;
  readonly delta: number;
}

/**
 * Entries to delete and the counter decrements that deleting them implies, fixed before anything
 * is deleted so that it can be recorded (and, after a crash, carried out again as it was).
 */
export interface DeletionPlan {
  readonly ids: readonly number[];
  readonly counters: readonly CounterChange[];
}

/** Names one carried-out plan (a purge job's segment), so its decrements land once however often it is run. */
export interface DeletionMarker {
  readonly jobId: string;
  /** The segment's checkpoint: unique within the job. */
  readonly segment: number;
}

/**
 * Deleting entries from the event store with their rollup counters. Callers hold the tenant's
 * purge lock, so no one else deletes the same entries.
 */
export interface EntryDeletion {
  /** The plan of deleting `records` (all of one tenant): their ids and counter decrements. */
  planDeletion(records: readonly PurgeTarget[]): DeletionPlan;
  /**
   * Carries out `plan`: deletes its entries (idempotent) and applies its counter decrements, each
   * part exactly once per `marker` even when run again after a crash part-way. Throws
   * TooManyRequestsError when the store stays busy; running it again then finishes it.
   */
  deleteEntries(tenant: string, plan: DeletionPlan, marker: DeletionMarker): Promise<void>;
}
