import type { PurgeJob } from '../domain/purge.js';
import type { AuditRecord } from '../domain/record.js';

/** What deleting an entry needs to know of it: its key and the fields its counters are keyed by. */
export type PurgeTarget = Pick<
  AuditRecord,
  'tenant' | 'id' | 'timestamp' | 'action_type' | 'user' | 'api_key'
>;

/** Why a job could not be started. */
export type StartOutcome =
  | { readonly kind: 'started' | 'existing'; readonly job: PurgeJob }
  /** Another purge of the tenant is still running; one purge at a time keeps archives exact. */
  | { readonly kind: 'busy'; readonly active: PurgeJob };

/** What deleting one segment did. */
export type BatchOutcome =
  | { readonly kind: 'deleted'; readonly job: PurgeJob; readonly deleted: number }
  /** The job moved on without us (another runner holds it): stop this run. */
  | { readonly kind: 'lost'; readonly job: PurgeJob | undefined };

/**
 * Purge jobs in the control table and the deletion of entries with their counters, in segments
 * whose every step is recorded on the job, so a crash at any point resumes with counters exact.
 */
export interface PurgeStore {
  /**
   * Creates the job and takes the tenant's purge lock, or returns the job if it exists already;
   * `busy` when another job of the tenant holds the lock.
   */
  start(job: PurgeJob): Promise<StartOutcome>;
  get(tenant: string, jobId: string): Promise<PurgeJob | undefined>;
  /** The newest job purging through `throughId` (the highest run, see `purgeJobId`), if any. */
  latest(tenant: string, throughId: number): Promise<PurgeJob | undefined>;
  /** The tenant's running job, if any. */
  active(tenant: string): Promise<PurgeJob | undefined>;
  /**
   * Takes the job's lease for `runner` until `leaseUntil` (epoch ms) when it is free or expired;
   * undefined when someone else holds it or the job is not running.
   */
  acquire(
    tenant: string,
    jobId: string,
    runner: string,
    now: number,
    leaseUntil: number,
  ): Promise<PurgeJob | undefined>;
  /** Gives the lease back so a worker can take over at once. */
  release(tenant: string, jobId: string, runner: string): Promise<void>;
  /** Entries with afterId < id ≤ throughId, oldest first, at most `limit` (strongly consistent). */
  readRange(tenant: string, afterId: number, throughId: number, limit: number): Promise<AuditRecord[]>;
  /**
   * Deletes `records` (ascending, all above the job's checkpoint, read under the tenant's purge
   * lock) with their counter decrements and moves the checkpoint to `checkpoint`, as long as
   * `runner` holds the job. A crash part-way leaves `pending` on the job; see resumeSegment.
   */
  deleteSegment(
    job: PurgeJob,
    runner: string,
    records: readonly PurgeTarget[],
    checkpoint: number,
    leaseUntil: number,
  ): Promise<BatchOutcome>;
  /** Finishes the segment a crashed runner left half done (`job.pending` is set). */
  resumeSegment(job: PurgeJob, runner: string, leaseUntil: number): Promise<BatchOutcome>;
  /** Marks the job completed (checkpoint = throughId) and frees the tenant's lock. */
  complete(job: PurgeJob, runner: string, now: number): Promise<PurgeJob | undefined>;
  /** Notes that the purge has been recorded in the tenant's audit trail. */
  markRecorded(tenant: string, jobId: string, now: number): Promise<void>;
}
