import { TooManyRequestsError } from '../../lambdas/domain/errors.js';
import { idFor, timestampOfId } from '../../lambdas/domain/ids.js';
import type { PurgeJob } from '../../lambdas/domain/purge.js';
import { purgeJobId, purgeRunOf } from '../../lambdas/domain/purge.js';
import { type AuditRecord, type EventDraft, sealRecord } from '../../lambdas/domain/record.js';
import type {
  DeletionMarker,
  DeletionPlan,
  EntryDeletion,
  PurgeTarget,
} from '../../lambdas/ports/entry-deletion.js';
import type { AppendOptions, AppendResult, PageQuery, PageResult } from '../../lambdas/ports/event-store.js';
import type {
  BeginOutcome,
  FinishOutcome,
  PurgeJobStore,
  PurgeSegment,
  StartOutcome,
} from '../../lambdas/ports/purge-job-store.js';
import type { TenantSettings, TenantStore } from '../../lambdas/ports/tenant-store.js';
import type { PurgeEventStore } from '../../lambdas/use-cases/purge-entries.js';

/**
 * In-memory fakes of the ports purging uses (`PurgeJobStore`, the event store's `EntryDeletion`
 * with the reads and appends purging needs, `TenantStore`), with the same contracts as the
 * DynamoDB adapters: every conditional step of a segment is checked the same way, so the use case
 * can be tested for crashes and lost leases without a table. (Idempotency claims, for the purge
 * record, come from the shared fake in in-memory-idempotency-store.ts.)
 */

/** A crash injected at a named step: the step throws before (or after) it took effect. */
export type PurgeFaultStep = 'beginSegment' | 'deleteEntries' | 'finishSegment' | 'complete';

export interface FaultPlan {
  /** Throws `error()` on the `call`-th (1-based) call of `step`, `when` it took effect or not. */
  readonly step: PurgeFaultStep;
  readonly call: number;
  readonly when: 'before' | 'after';
  readonly error: () => Error;
}

/** Shared by the fakes: which step to fail, counted per step. */
export class Faults {
  #plans: FaultPlan[] = [];
  readonly #calls = new Map<PurgeFaultStep, number>();

  add(plan: FaultPlan): void {
    this.#plans.push(plan);
  }

  clear(): void {
    this.#plans = [];
  }

  /** Runs `effect` at `step`, throwing where a plan says so. */
  async at<T>(step: PurgeFaultStep, effect: () => T | Promise<T>): Promise<T> {
    const call = (this.#calls.get(step) ?? 0) + 1;
    this.#calls.set(step, call);
    const plan = this.#plans.find((p) => p.step === step && p.call === call);
    if (plan?.when === 'before') throw plan.error();
    const result = await effect();
    if (plan?.when === 'after') throw plan.error();
    return result;
  }
}

const key = (tenant: string, jobId: string) => `${tenant}\u0000${jobId}`;

/** Purge jobs, the tenant lock, leases and pending segments, in memory. */
export class InMemoryPurgeJobStore implements PurgeJobStore {
  readonly jobs = new Map<string, PurgeJob & { runner?: string; leaseUntil?: number }>();
  readonly locks = new Map<string, string>();
  readonly intents = new Map<string, PurgeSegment>();
  readonly #clock: () => number;
  readonly #faults: Faults;

  constructor(clock: () => number, faults = new Faults()) {
    this.#clock = clock;
    this.#faults = faults;
  }

  async start(job: PurgeJob): Promise<StartOutcome> {
    const existing = this.jobs.get(key(job.tenant, job.jobId));
    const holder = this.locks.get(job.tenant);
    if (!existing && (holder === undefined || holder === job.jobId)) {
      this.jobs.set(key(job.tenant, job.jobId), { ...job });
      this.locks.set(job.tenant, job.jobId);
      return { kind: 'started', job };
    }
    if (existing) return { kind: 'existing', job: strip(existing) };
    const active = await this.active(job.tenant);
    if (active) return { kind: 'busy', active };
    throw new Error(`could not start purge job ${job.jobId}`);
  }

  async get(tenant: string, jobId: string): Promise<PurgeJob | undefined> {
    const job = this.jobs.get(key(tenant, jobId));
    return job ? strip(job) : undefined;
  }

  async latest(tenant: string, throughId: number): Promise<PurgeJob | undefined> {
    const first = await this.get(tenant, purgeJobId(throughId));
    if (!first) return undefined;
    let latest = first;
    for (const job of this.jobs.values()) {
      if (job.tenant !== tenant || !job.jobId.startsWith(`${purgeJobId(throughId)}-`)) continue;
      if (purgeRunOf(job.jobId) > purgeRunOf(latest.jobId)) latest = strip(job);
    }
    return latest;
  }

  async active(tenant: string): Promise<PurgeJob | undefined> {
    const jobId = this.locks.get(tenant);
    return jobId === undefined ? undefined : this.get(tenant, jobId);
  }

  async acquire(
    tenant: string,
    jobId: string,
    runner: string,
    now: number,
    leaseUntil: number,
  ): Promise<PurgeJob | undefined> {
    const job = this.jobs.get(key(tenant, jobId));
    if (job?.status !== 'running') return undefined;
    if (job.leaseUntil !== undefined && job.leaseUntil >= now && job.runner !== runner) return undefined;
    const taken = { ...job, runner, leaseUntil };
    this.jobs.set(key(tenant, jobId), taken);
    return strip(taken);
  }

  async release(tenant: string, jobId: string, runner: string): Promise<void> {
    const job = this.jobs.get(key(tenant, jobId));
    if (job?.runner === runner) this.jobs.set(key(tenant, jobId), { ...job, leaseUntil: 0 });
  }

  beginSegment(
    job: PurgeJob,
    runner: string,
    segment: PurgeSegment,
    leaseUntil: number,
  ): Promise<BeginOutcome> {
    return this.#faults.at('beginSegment', async () => {
      const stored = this.jobs.get(key(job.tenant, job.jobId));
      if (
        stored?.status !== 'running' ||
        stored.runner !== runner ||
        stored.checkpoint !== job.checkpoint ||
        stored.pending !== undefined
      ) {
        return { kind: 'lost', job: stored ? strip(stored) : undefined } as const;
      }
      this.intents.set(key(job.tenant, job.jobId), segment);
      this.jobs.set(key(job.tenant, job.jobId), { ...stored, pending: segment.checkpoint, leaseUntil });
      return { kind: 'recorded', job: { ...job, pending: segment.checkpoint } } as const;
    });
  }

  async pendingSegment(job: PurgeJob): Promise<PurgeSegment> {
    const intent = this.intents.get(key(job.tenant, job.jobId));
    const stored = this.jobs.get(key(job.tenant, job.jobId));
    if (!intent || !stored || stored.pending !== intent.checkpoint)
      throw new Error('purge segment intent is missing');
    return intent;
  }

  finishSegment(
    job: PurgeJob,
    runner: string,
    segment: PurgeSegment,
    leaseUntil: number,
  ): Promise<FinishOutcome> {
    return this.#faults.at('finishSegment', async () => {
      const stored = this.jobs.get(key(job.tenant, job.jobId));
      if (stored?.status !== 'running' || stored.runner !== runner || stored.pending !== segment.checkpoint) {
        return { kind: 'lost', job: stored ? strip(stored) : undefined } as const;
      }
      const deleted = segment.plan.ids.length;
      const { pending: _done, ...rest } = stored;
      const now = this.#clock();
      this.jobs.set(key(job.tenant, job.jobId), {
        ...rest,
        checkpoint: segment.checkpoint,
        deleted: stored.deleted + deleted,
        updatedAt: now,
        leaseUntil,
      });
      const { pending: _pending, ...before } = job;
      return {
        kind: 'deleted',
        deleted,
        job: { ...before, checkpoint: segment.checkpoint, deleted: job.deleted + deleted, updatedAt: now },
      } as const;
    });
  }

  complete(job: PurgeJob, runner: string, now: number): Promise<PurgeJob | undefined> {
    return this.#faults.at('complete', async () => {
      const stored = this.jobs.get(key(job.tenant, job.jobId));
      if (stored?.status !== 'running' || stored.runner !== runner || stored.pending !== undefined)
        return undefined;
      const { runner: _runner, leaseUntil: _lease, ...rest } = stored;
      this.jobs.set(key(job.tenant, job.jobId), {
        ...rest,
        status: 'completed',
        checkpoint: job.throughId,
        finishedAt: now,
        updatedAt: now,
      });
      this.intents.delete(key(job.tenant, job.jobId));
      if (this.locks.get(job.tenant) === job.jobId) this.locks.delete(job.tenant);
      return this.get(job.tenant, job.jobId);
    });
  }

  async markRecorded(tenant: string, jobId: string, now: number): Promise<void> {
    const job = this.jobs.get(key(tenant, jobId));
    if (job) this.jobs.set(key(tenant, jobId), { ...job, recordedAt: now });
  }
}

/** A stored job without the lease fields (what the DynamoDB adapter's `fromItem` returns). */
const strip = (job: PurgeJob & { runner?: string; leaseUntil?: number }): PurgeJob => {
  const { runner: _runner, leaseUntil: _lease, ...rest } = job;
  return rest;
};

/**
 * A tenant's entries and a count of them per tenant (standing in for the rollup counters), with
 * the deletion contract: a plan's decrements land once per marker, however often it is run.
 */
export class InMemoryPurgeEventStore implements PurgeEventStore, EntryDeletion {
  readonly entries = new Map<string, AuditRecord[]>();
  /** Entries counted per tenant (the rollup total). */
  readonly counted = new Map<string, number>();
  /** Plans whose decrements have landed, by marker. */
  readonly #applied = new Set<string>();
  readonly #faults: Faults;
  readonly #clock: () => number;
  readonly #sequences = new Map<number, number>();
  /** When set, deletes fail with TooManyRequestsError (a throttled table). */
  busy = false;

  constructor(clock: () => number, faults = new Faults()) {
    this.#clock = clock;
    this.#faults = faults;
  }

  /** Stores entries one a millisecond from `first` on (ids in the same order), counting them. */
  seed(tenant: string, drafts: readonly EventDraft[], first: number): AuditRecord[] {
    const records = drafts.map((draft, index) => {
      const timestamp = first + index;
      const sequence = this.#sequences.get(timestamp) ?? 0;
      this.#sequences.set(timestamp, sequence + 1);
      return sealRecord(tenant, idFor(timestamp, sequence), timestamp, draft);
    });
    this.entries.set(tenant, [...(this.entries.get(tenant) ?? []), ...records]);
    this.counted.set(tenant, (this.counted.get(tenant) ?? 0) + records.length);
    return records;
  }

  async reserveIds(drafts: readonly EventDraft[]): Promise<number[]> {
    return drafts.map((draft) => {
      const timestamp = draft.timestamp ?? this.#clock();
      const sequence = this.#sequences.get(timestamp) ?? 0;
      this.#sequences.set(timestamp, sequence + 1);
      return idFor(timestamp, sequence);
    });
  }

  async append(
    tenant: string,
    drafts: readonly EventDraft[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const ids = options?.ids ?? (await this.reserveIds(drafts));
    const existing = this.entries.get(tenant) ?? [];
    return drafts.map((draft, index) => {
      const id = ids[index] as number;
      const record = sealRecord(tenant, id, timestampOfId(id), draft);
      // Writing an id again is an overwrite with the same content: stored and counted once.
      if (!existing.some((entry) => entry.id === id)) {
        existing.push(record);
        this.entries.set(tenant, existing);
        this.counted.set(tenant, (this.counted.get(tenant) ?? 0) + 1);
      }
      return record;
    });
  }

  async queryPage(query: PageQuery): Promise<PageResult> {
    if (query.selector.kind !== 'all') throw new Error('the purge fake reads selector "all" only');
    const inRange = (this.entries.get(query.tenant) ?? [])
      .filter((record) => record.id >= query.minId && record.id <= query.maxId)
      .sort((a, b) => (query.newestFirst ? b.id - a.id : a.id - b.id))
      .slice(0, Math.max(0, query.limit));
    return { records: inRange, itemsRead: inRange.length, capacityUnits: 0 };
  }

  planDeletion(records: readonly PurgeTarget[]): DeletionPlan {
    const tenant = records[0]?.tenant ?? '';
    return {
      ids: records.map((record) => record.id),
      counters: records.length > 0 ? [{ pk: tenant, sk: 'total', delta: -records.length }] : [],
    };
  }

  deleteEntries(tenant: string, plan: DeletionPlan, marker: DeletionMarker): Promise<void> {
    return this.#faults.at('deleteEntries', async () => {
      const markerId = `${tenant}\u0000${marker.jobId}\u0000${marker.segment}`;
      if (!this.#applied.has(markerId)) {
        this.#applied.add(markerId);
        for (const change of plan.counters)
          this.counted.set(change.pk, (this.counted.get(change.pk) ?? 0) + change.delta);
      }
      if (this.busy) throw new TooManyRequestsError('The store kept 25 of 25 writes unprocessed.');
      const ids = new Set(plan.ids);
      this.entries.set(
        tenant,
        (this.entries.get(tenant) ?? []).filter((record) => !ids.has(record.id)),
      );
    });
  }
}

/** Tenant settings in memory. */
export class InMemoryPurgeTenantStore implements TenantStore {
  readonly #settings = new Map<string, TenantSettings>();
  readonly #defaults: TenantSettings;

  constructor(defaults: TenantSettings = { retentionDays: 30, archive: false }) {
    this.#defaults = defaults;
  }

  async register(tenant: string): Promise<void> {
    if (!this.#settings.has(tenant)) this.#settings.set(tenant, this.#defaults);
  }

  async settings(tenant: string): Promise<TenantSettings> {
    return this.#settings.get(tenant) ?? this.#defaults;
  }

  async update(tenant: string, settings: Partial<TenantSettings>): Promise<void> {
    this.#settings.set(tenant, { ...(await this.settings(tenant)), ...settings });
  }

  async list(): Promise<string[]> {
    return [...this.#settings.keys()];
  }
}
