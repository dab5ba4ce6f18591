import type { PurgeJob } from '../domain/purge.js';
import type { DeletionPlan } from './entry-deletion.js';

/** Why a job could not be started. */
export type StartOutcome =
  | { readonly kind: 'started' | 'existing'; readonly job: PurgeJob }
  /** Another purge of the tenant is still running; one purge at a time keeps archives exact. */
  | { readonly kind: 'busy'; readonly active: PurgeJob };

/** A segment of a job: what it deletes and the checkpoint the job moves to once it is deleted. */
export interface PurgeSegment {
  readonly plan: DeletionPlan;
  readonly checkpoint: number;
}

/** The job moved on without us (another runner holds it): stop this run. */
export type LostOutcome = { readonly kind: 'lost'; readonly job: PurgeJob | undefined };

/** What recording a segment did. */
export type BeginOutcome = { readonly kind: 'recorded'; readonly job: PurgeJob } | LostOutcome;

/** What finishing a segment did. */
export type FinishOutcome =
  | { readonly kind: 'deleted'; readonly job: PurgeJob; readonly deleted: number }
  | LostOutcome;

/**
 * Purge jobs: the tenant's one-at-a-time lock, each job's lease, and its progress in segments
 * whose every step is recorded on the job, so a crash at any point resumes exactly.
 */
export interface PurgeJobStore {
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
  /**
   * Records `segment` as the job's pending segment (its ids all above the job's checkpoint),
   * as long as `runner` holds the job, its checkpoint is still `job.checkpoint` and no segment is
   * pending: `recorded` with `pending` set on the job, else `lost`.
   */
  beginSegment(
    job: PurgeJob,
    runner: string,
    segment: PurgeSegment,
    leaseUntil: number,
  ): Promise<BeginOutcome>;
  /** The segment a crashed runner left pending (`job.pending` is set). */
  pendingSegment(job: PurgeJob): Promise<PurgeSegment>;
  /**
   * Once the pending segment is deleted: moves the checkpoint to it, counts its entries as deleted
   * and clears `pending`, as long as `runner` holds the job: `deleted`, else `lost`.
   */
  finishSegment(
    job: PurgeJob,
    runner: string,
    segment: PurgeSegment,
    leaseUntil: number,
  ): Promise<FinishOutcome>;
  /** Marks the job completed (checkpoint = throughId) and frees the tenant's lock. */
  complete(job: PurgeJob, runner: string, now: number): Promise<PurgeJob | undefined>;
  /** Notes that the purge has been recorded in the tenant's audit trail. */
  markRecorded(tenant: string, jobId: string, now: number): Promise<void>;
}
