import { randomUUID } from 'node:crypto';
import { ConfigurationError, InvariantError, TooManyRequestsError } from '../domain/errors.js';
import { lastIdAt } from '../domain/ids.js';
import {
  type ArchiveManifest,
  MAX_PURGE_RUN,
  manifestKey,
  PURGE_ACTION,
  type PurgeJob,
  purgeJobId,
  purgeRunOf,
  retentionThroughId,
  withPart,
} from '../domain/purge.js';
import type { AuditRecord, EventDraft } from '../domain/record.js';
import type { ArchiveStore } from '../ports/archive-store.js';
import type { EntryDeletion, PurgeTarget } from '../ports/entry-deletion.js';
import type { EventStore } from '../ports/event-store.js';
import { type IdempotencyStore, internalIdempotencyKey } from '../ports/idempotency-store.js';
import type { FinishOutcome, PurgeJobStore, PurgeSegment, StartOutcome } from '../ports/purge-job-store.js';
import type { TenantStore } from '../ports/tenant-store.js';
import type { PurgeReceipts } from '../ports/tlog.js';
import { appendOnce } from './ingest-events.js';

/** What purging reads and writes through the event store: ranges of entries, its own record. */
export type PurgeEventStore = Pick<EventStore, 'append' | 'reserveIds' | 'queryPage'>;

/** What purging needs from the outside world. */
export interface PurgeDependencies {
  readonly purges: PurgeJobStore;
  /** Absent when no archive bucket is configured: then nothing can be archived. */
  readonly archives: ArchiveStore | undefined;
  readonly tenants: TenantStore;
  readonly events: PurgeEventStore;
  /** Where the purge's own record is claimed, so a resumed job records it once. */
  readonly idempotency: IdempotencyStore;
  /** Deleting entries with their counters (the event store's deleting side). */
  readonly deletion: EntryDeletion;
  readonly clock: () => number;
  /** Entries per archive part (and per read from the store). */
  readonly partEntries: number;
  /** How long a runner holds a job before another may take over (a crashed runner never gives it back). */
  readonly leaseMs: number;
  /** The verifiable log's purge receipts, signed before each segment is deleted; none when absent. */
  readonly receipts?: PurgeReceipts;
  /**
   * Writes an archiving job's verifiable-log proof file (checkpoint, where each archived entry's
   * leaf is, the job's receipts) once every part is archived and deleted; none when absent.
   */
  readonly archiveProof?: (manifest: ArchiveManifest) => Promise<void>;
}

/** Who asked for a purge: a token, or the retention scheduler. */
export type PurgeRequester =
  | { readonly kind: 'token'; readonly tokenId: string; readonly tokenName: string }
  | { readonly kind: 'retention' };

/** How one run of a job ended. */
export interface PurgeRun {
  readonly job: PurgeJob;
  /** Entries this run deleted. */
  readonly deleted: number;
  /**
   * `completed`: nothing ≤ throughId is left; `paused`: the time budget ran out (resume it);
   * `elsewhere`: another runner holds the job right now.
   */
  readonly outcome: 'completed' | 'paused' | 'elsewhere';
}

/**
 * Finds or creates the job purging every entry of `tenant` with id ≤ `throughId`:
 * - the tenant's unfinished job, when it purges through the same id (a repeat resumes it, so a
 *   crash or timeout never loses work); `busy` when it purges through another id;
 * - the latest completed job of that id, when nothing ≤ id is left (a repeat deletes nothing);
 * - otherwise a new job: `pj-<id>` the first time, `pj-<id>-<run>` after earlier jobs of that id
 *   completed and entries ≤ id were written since (back-dated imports, or an id in the future).
 */
export const startPurge = async (
  deps: PurgeDependencies,
  request: { tenant: string; throughId: number; requester: PurgeRequester },
): Promise<StartOutcome> => {
  const { tenant, throughId, requester } = request;
  const active = await deps.purges.active(tenant);
  if (active) {
    return active.throughId === throughId ? { kind: 'existing', job: active } : { kind: 'busy', active };
  }
  const latest = await deps.purges.latest(tenant, throughId);
  if (latest) {
    if (latest.status !== 'completed') return { kind: 'existing', job: latest };
    const left = await readRange(deps, tenant, -1, throughId, 1);
    if (left.length === 0) return { kind: 'existing', job: latest };
  }
  const run = latest ? purgeRunOf(latest.jobId) + 1 : 1;
  if (run > MAX_PURGE_RUN) throw new InvariantError(`purge of id ${throughId} was repeated too many times`);
  const now = deps.clock();
  const settings = await deps.tenants.settings(tenant);
  const outcome = await deps.purges.start({
    tenant,
    jobId: purgeJobId(throughId, run),
    throughId,
    status: 'running',
    deleted: 0,
    checkpoint: -1,
    archive: settings.archive && deps.archives !== undefined,
    startedBy: requester.kind === 'token' ? requester.tokenId : 'retention',
    startedByName: requester.kind === 'token' ? requester.tokenName : 'retention scheduler',
    startedAt: now,
    updatedAt: now,
  });
  // A concurrent request for the same id started its job first: that is this purge's job too.
  if (outcome.kind === 'busy' && outcome.active.throughId === throughId) {
    return { kind: 'existing', job: outcome.active };
  }
  return outcome;
};

/** What `purgeThrough` did within one request. */
export type PurgeThroughOutcome =
  | { readonly kind: 'busy'; readonly active: PurgeJob }
  | {
      readonly kind: 'ran';
      /** The last job run (its outcome says whether it completed). */
      readonly run: PurgeRun | undefined;
      readonly job: PurgeJob;
      /** Entries deleted by this request, over every job it ran. */
      readonly deleted: number;
    };

/** Follow-up jobs one request runs for entries written behind a job's checkpoint while it ran. */
const MAX_FOLLOW_UPS = 3;

/**
 * A purge request: deletes every entry with id ≤ `throughId` that exists now. It resumes the
 * unfinished job of that id or starts the next one (`startPurge`), runs it, and when it completes
 * but entries ≤ id are still there (written behind its checkpoint while it ran), runs a follow-up
 * job for them, as long as the time budget lasts.
 */
export const purgeThrough = async (
  deps: PurgeDependencies,
  request: { tenant: string; throughId: number; requester: PurgeRequester },
  deadline: number,
): Promise<PurgeThroughOutcome> => {
  let deleted = 0;
  let last: { run: PurgeRun | undefined; job: PurgeJob } | undefined;
  // Entries stamped from now on (this purge's own record, calls made meanwhile) came after the
  // request; follow-ups look only for older ones left behind.
  const behindThrough = Math.min(request.throughId, lastIdAt(deps.clock() - 1));
  for (let attempt = 0; attempt <= MAX_FOLLOW_UPS; attempt += 1) {
    const started = await startPurge(deps, request);
    if (started.kind === 'busy') {
      // Another purge of the tenant started after ours completed: ours is done.
      return last ? { kind: 'ran', ...last, deleted } : { kind: 'busy', active: started.active };
    }
    if (last && started.job.jobId === last.job.jobId) break;
    const run = await runPurge(deps, request.tenant, started.job.jobId, deadline);
    deleted += run?.deleted ?? 0;
    last = { run, job: run?.job ?? started.job };
    if (run?.outcome !== 'completed' || deps.clock() >= deadline) break;
    const left = await readRange(deps, request.tenant, -1, behindThrough, 1);
    if (left.length === 0) break;
  }
  if (!last) throw new InvariantError('a purge request ran no job');
  return { kind: 'ran', ...last, deleted };
};

/**
 * Entries per deletion segment: small enough that the time budget is checked often and the
 * segment's intent item (its ids and counter decrements) stays far below DynamoDB's 400 KB.
 */
export const SEGMENT_ENTRIES = 1000;

/**
 * Entries with afterId < id ≤ throughId, oldest first, at most `limit`. Strongly consistent: a
 * resumed purge must not see entries it already deleted, or it would decrement their counters
 * again.
 */
const readRange = async (
  deps: PurgeDependencies,
  tenant: string,
  afterId: number,
  throughId: number,
  limit: number,
): Promise<AuditRecord[]> =>
  (
    await deps.events.queryPage({
      tenant,
      selector: { kind: 'all' },
      minId: afterId + 1,
      maxId: throughId,
      newestFirst: false,
      limit,
      consistent: true,
    })
  ).records;

/**
 * Deletes a segment the job recorded as pending (its entries and their counter decrements, each
 * exactly once however often it is run), then moves the job's checkpoint past it.
 */
const applySegment = async (
  deps: PurgeDependencies,
  job: PurgeJob,
  runner: string,
  segment: PurgeSegment,
  leaseUntil: number,
): Promise<FinishOutcome> => {
  try {
    await deps.deletion.deleteEntries(job.tenant, segment.plan, {
      jobId: job.jobId,
      segment: segment.checkpoint,
    });
  } catch (error) {
    if (!(error instanceof TooManyRequestsError)) throw error;
    throw new TooManyRequestsError('The audit store is busy; the purge will resume where it stopped.', {
      cause: error,
    });
  }
  return deps.purges.finishSegment(job, runner, segment, leaseUntil);
};

/**
 * Runs a purge job until it completes, its time budget (`deadline`, epoch ms) runs out, or another
 * runner turns out to hold it. Each run makes progress (at least one segment) before looking at
 * the clock. Archived entries are written (part, then manifest) before any of them is deleted; a part
 * left half-deleted by a crash is finished from the archive itself, so no entry is archived twice.
 */
export const runPurge = async (
  deps: PurgeDependencies,
  tenant: string,
  jobId: string,
  deadline: number,
): Promise<PurgeRun | undefined> => {
  const runner = randomUUID();
  const acquired = await deps.purges.acquire(
    tenant,
    jobId,
    runner,
    deps.clock(),
    deps.clock() + deps.leaseMs,
  );
  if (!acquired) {
    const current = await deps.purges.get(tenant, jobId);
    if (!current) return undefined;
    if (current.status === 'completed') {
      await recordPurge(deps, current);
      return { job: current, deleted: 0, outcome: 'completed' };
    }
    return { job: current, deleted: 0, outcome: 'elsewhere' };
  }
  let job = acquired;
  let deleted = 0;
  let batches = 0;
  const outOfTime = () => batches > 0 && deps.clock() >= deadline;

  /** Deletes `records` in segments; the last one moves the checkpoint to `through`. */
  const deleteAll = async (
    records: readonly AuditRecord[],
    through: number,
  ): Promise<'done' | 'paused' | 'lost'> => {
    let position = 0;
    do {
      if (outOfTime()) return 'paused';
      const batch = records.slice(position, position + SEGMENT_ENTRIES);
      position += batch.length;
      const checkpoint = position >= records.length ? through : (batch[batch.length - 1] as PurgeTarget).id;
      const leaseUntil = deps.clock() + deps.leaseMs;
      const segment: PurgeSegment = { plan: deps.deletion.planDeletion(batch), checkpoint };
      await deps.receipts?.issue(tenant, { jobId, lastId: checkpoint, throughId: job.throughId }, batch);
      const recorded = await deps.purges.beginSegment(job, runner, segment, leaseUntil);
      if (recorded.kind === 'lost') return 'lost';
      const outcome = await applySegment(deps, recorded.job, runner, segment, leaseUntil);
      if (outcome.kind === 'lost') return 'lost';
      job = outcome.job;
      deleted += outcome.deleted;
      batches += 1;
    } while (position < records.length);
    return 'done';
  };

  try {
    if (job.pending !== undefined) {
      // A segment a crashed runner left half done is finished first, from its recorded intent.
      const leaseUntil = deps.clock() + deps.leaseMs;
      const segment = await deps.purges.pendingSegment(job);
      const outcome = await applySegment(deps, job, runner, segment, leaseUntil);
      if (outcome.kind === 'lost') return await pause(deps, job, runner, deleted, 'lost');
      job = outcome.job;
      deleted += outcome.deleted;
      batches += 1;
    }
    let manifest: ArchiveManifest | undefined;
    if (job.archive) {
      const archives = requireArchives(deps);
      manifest = (await archives.readManifest(tenant, jobId)) ?? {
        version: 1,
        tenant,
        jobId,
        throughId: job.throughId,
        created: deps.clock(),
        parts: [],
      };
      // A part written just before a crash, before the manifest listed it, is written again below.
      await archives.removeUnlisted(manifest);
      const checkpoint = job.checkpoint;
      const open = manifest.parts.find((part) => part.lastId > checkpoint);
      if (open) {
        const rest = (await archives.readPart(tenant, open)).filter(
          (record) => record.id > checkpoint && record.id <= job.throughId,
        );
        const state = await deleteAll(rest, open.lastId);
        if (state !== 'done') return await pause(deps, job, runner, deleted, state);
      }
    }
    // Entries are read a part at a time; the next read runs while the current entries are
    // archived and deleted (it only reads ids above them, which this run does not touch).
    const read = (afterId: number) => readRange(deps, tenant, afterId, job.throughId, deps.partEntries);
    let next = read(job.checkpoint);
    for (;;) {
      if (outOfTime()) return await pause(deps, job, runner, deleted, 'paused');
      const records = await next;
      const last = records[records.length - 1];
      if (!last) break;
      next = read(last.id);
      // A run that stops early never awaits the read ahead; its failure must not go unhandled.
      next.catch(() => undefined);
      if (manifest) {
        // Written (part, then manifest) before any of these entries is deleted.
        const archives = requireArchives(deps);
        const part = await archives.writePart(tenant, jobId, records, deps.clock());
        manifest = withPart(manifest, part);
        await archives.writeManifest(manifest);
      }
      const state = await deleteAll(records, last.id);
      if (state !== 'done') return await pause(deps, job, runner, deleted, state);
    }
    // Before the job completes, so a completed archiving job always has its proof (a crash here
    // leaves the job running; its next run writes the proof again).
    if (manifest && manifest.parts.length > 0) await deps.archiveProof?.(manifest);
    const completed = await deps.purges.complete(job, runner, deps.clock());
    if (!completed) return await pause(deps, job, runner, deleted, 'lost');
    await recordPurge(deps, completed);
    return { job: completed, deleted, outcome: 'completed' };
  } catch (error) {
    // Let a retry (or the next request) take over at once instead of waiting for the lease.
    await deps.purges.release(tenant, jobId, runner).catch(() => undefined);
    throw error;
  }
};

const requireArchives = (deps: PurgeDependencies): ArchiveStore => {
  if (!deps.archives) throw new ConfigurationError('This job archives, but no archive bucket is configured');
  return deps.archives;
};

const pause = async (
  deps: PurgeDependencies,
  job: PurgeJob,
  runner: string,
  deleted: number,
  state: 'paused' | 'lost',
): Promise<PurgeRun> => {
  if (state === 'paused') await deps.purges.release(job.tenant, job.jobId, runner);
  const current = (await deps.purges.get(job.tenant, job.jobId)) ?? job;
  return { job: current, deleted, outcome: state === 'paused' ? 'paused' : 'elsewhere' };
};

/**
 * Writes the purge into the tenant's own audit trail, once (a dedupe key per job), after its
 * deletes, so the entry is not itself purged.
 */
const recordPurge = async (deps: PurgeDependencies, job: PurgeJob): Promise<void> => {
  if (job.recordedAt !== undefined) return;
  const archive = job.archive && job.deleted > 0 ? manifestKey(job.jobId) : null;
  const draft: EventDraft = {
    action_type: PURGE_ACTION,
    category: 'Audit trail',
    message: `${job.startedByName} purged ${job.deleted} entries with id up to ${job.throughId}`,
    ...(job.startedBy === 'retention'
      ? { user: 'retention scheduler' }
      : { api_key: { id: job.startedBy, name: job.startedByName } }),
    additional_information: {
      job_id: job.jobId,
      through_id: job.throughId,
      deleted: job.deleted,
      archive,
      started_by: job.startedBy,
    },
  };
  // Claimed under the job's id: a run that crashed after writing the record writes the same one.
  await appendOnce(deps, job.tenant, [draft], {
    key: internalIdempotencyKey('purge', job.jobId),
    bodyHash: job.jobId,
  });
  await deps.purges.markRecorded(job.tenant, job.jobId, deps.clock());
};

/** What the retention scheduler did for one tenant. */
export interface RetentionResult {
  readonly tenant: string;
  readonly throughId: number;
  readonly run: PurgeRun | undefined;
  readonly skipped?: 'nothing-old-enough' | 'busy';
}

/**
 * Retention for one tenant: purges every entry older than the tenant's retention days, through the
 * same job code as the API. An unfinished purge of the tenant is resumed first.
 */
export const applyRetention = async (
  deps: PurgeDependencies,
  tenant: string,
  deadline: number,
): Promise<RetentionResult> => {
  const active = await deps.purges.active(tenant);
  if (active) {
    const run = await runPurge(deps, tenant, active.jobId, deadline);
    if (run?.outcome !== 'completed') return { tenant, throughId: active.throughId, run, skipped: 'busy' };
  }
  const settings = await deps.tenants.settings(tenant);
  const throughId = retentionThroughId(deps.clock(), settings.retentionDays);
  const oldest = await readRange(deps, tenant, -1, throughId, 1);
  if (oldest.length === 0) return { tenant, throughId, run: undefined, skipped: 'nothing-old-enough' };
  const started = await startPurge(deps, { tenant, throughId, requester: { kind: 'retention' } });
  if (started.kind === 'busy') return { tenant, throughId, run: undefined, skipped: 'busy' };
  return { tenant, throughId, run: await runPurge(deps, tenant, started.job.jobId, deadline) };
};

/** How purging is tuned (the deployment's configuration supplies it). */
export interface PurgeSettings {
  /** Entries per archive part (and per read from the store). */
  readonly partEntries: number;
  /** How long a runner holds a job before another may take over. */
  readonly leaseSeconds: number;
}

/** Purge dependencies from the stores and the settings. */
export const purgeDependencies = (
  stores: Pick<
    PurgeDependencies,
    'purges' | 'archives' | 'tenants' | 'events' | 'idempotency' | 'deletion' | 'clock'
  >,
  settings: PurgeSettings,
): PurgeDependencies => ({
  ...stores,
  partEntries: settings.partEntries,
  leaseMs: settings.leaseSeconds * 1000,
});

/** The time a run may use: `remainingMs` less a margin to save the checkpoint and answer. */
export const runDeadline = (now: number, remainingMs: number, capMs = Number.POSITIVE_INFINITY): number => {
  const margin = Math.min(10_000, Math.floor(remainingMs / 5));
  return now + Math.max(0, Math.min(capMs, remainingMs - margin));
};
