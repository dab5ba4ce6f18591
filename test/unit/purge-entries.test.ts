import { describe, expect, it } from '@jest/globals';
import { TooManyRequestsError } from '../../lambdas/domain/errors.js';
import { PURGE_ACTION, purgeJobId } from '../../lambdas/domain/purge.js';
import type { EventDraft } from '../../lambdas/domain/record.js';
import {
  applyRetention,
  type PurgeDependencies,
  purgeDependencies,
  purgeThrough,
  runPurge,
  SEGMENT_ENTRIES,
  startPurge,
} from '../../lambdas/use-cases/purge-entries.js';
import { InMemoryIdempotencyStore } from '../fakes/in-memory-idempotency-store.js';
import {
  Faults,
  InMemoryPurgeEventStore,
  InMemoryPurgeJobStore,
  InMemoryPurgeTenantStore,
} from '../fakes/purge-fakes.js';

const NOW = Date.UTC(2026, 10, 1);
const TENANT = 'acme';
const BY_TOKEN = { kind: 'token', tokenId: 'tok_test', tokenName: 'tester' } as const;
const FOREVER = Number.POSITIVE_INFINITY;

const drafts = (count: number): EventDraft[] =>
  Array.from({ length: count }, (_, n) => ({
    action_type: 'user_login',
    category: 'Auth',
    message: `login ${n}`,
    user: `user${n % 3}`,
  }));

/** The purge use case on in-memory ports, with `entries` entries seeded for the tenant. */
const setUp = (entries: number, settings: { partEntries?: number; faults?: Faults } = {}) => {
  let now = NOW;
  const clock = () => now;
  const faults = settings.faults ?? new Faults();
  const jobs = new InMemoryPurgeJobStore(clock, faults);
  const events = new InMemoryPurgeEventStore(clock, faults);
  const tenants = new InMemoryPurgeTenantStore();
  const seeded = events.seed(TENANT, drafts(entries), NOW - 10_000);
  const deps: PurgeDependencies = purgeDependencies(
    {
      purges: jobs,
      archives: undefined,
      tenants,
      events,
      idempotency: new InMemoryIdempotencyStore({ clock }),
      deletion: events,
      clock,
    },
    { partEntries: settings.partEntries ?? 100, leaseSeconds: 60 },
  );
  return {
    deps,
    jobs,
    events,
    tenants,
    seeded,
    faults,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

/** The ids left in the tenant's trail, and how many the (fake) rollup total says there are. */
const left = (events: InMemoryPurgeEventStore) => ({
  ids: (events.entries.get(TENANT) ?? []).map((record) => record.id),
  counted: events.counted.get(TENANT),
});

describe('Use case: purge entries (on in-memory ports)', () => {
  it('deletes every entry up to the id and no other, counts each once, and records the purge once', async () => {
    // Prepare
    const { deps, events, jobs, seeded } = setUp(250);
    const through = seeded[199]?.id ?? -1;

    // Act
    const outcome = await purgeThrough(
      deps,
      { tenant: TENANT, throughId: through, requester: BY_TOKEN },
      FOREVER,
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'ran', deleted: 200, run: { outcome: 'completed' } });
    const remaining = events.entries.get(TENANT) ?? [];
    expect(remaining.filter((record) => record.id <= through)).toEqual([]);
    expect(remaining.filter((record) => record.action_type !== PURGE_ACTION)).toHaveLength(50);
    expect(remaining.filter((record) => record.action_type === PURGE_ACTION)).toHaveLength(1);
    expect(left(events).counted).toBe(51);
    expect(await jobs.get(TENANT, purgeJobId(through))).toMatchObject({
      status: 'completed',
      deleted: 200,
      checkpoint: through,
      recordedAt: NOW,
    });
    expect(jobs.locks.has(TENANT)).toBe(false);
  });

  it('answers the completed job and deletes nothing when the same purge is asked again', async () => {
    // Prepare
    const { deps, events, seeded } = setUp(30);
    const through = seeded[9]?.id ?? -1;
    await purgeThrough(deps, { tenant: TENANT, throughId: through, requester: BY_TOKEN }, FOREVER);
    const before = left(events);

    // Act
    const again = await purgeThrough(
      deps,
      { tenant: TENANT, throughId: through, requester: BY_TOKEN },
      FOREVER,
    );

    // Assess
    expect(again).toMatchObject({ kind: 'ran', deleted: 0, job: { jobId: purgeJobId(through) } });
    expect(left(events)).toEqual(before);
  });

  it('refuses a purge through another id while one is running (busy), and joins one through the same id', async () => {
    // Prepare
    const { deps, seeded } = setUp(30);
    const first = await startPurge(deps, {
      tenant: TENANT,
      throughId: seeded[9]?.id ?? -1,
      requester: BY_TOKEN,
    });

    // Act
    const other = await startPurge(deps, {
      tenant: TENANT,
      throughId: seeded[19]?.id ?? -1,
      requester: BY_TOKEN,
    });
    const same = await startPurge(deps, {
      tenant: TENANT,
      throughId: seeded[9]?.id ?? -1,
      requester: BY_TOKEN,
    });

    // Assess
    expect(first.kind).toBe('started');
    expect(other).toMatchObject({ kind: 'busy', active: { jobId: purgeJobId(seeded[9]?.id ?? -1) } });
    expect(same).toMatchObject({ kind: 'existing', job: { jobId: purgeJobId(seeded[9]?.id ?? -1) } });
  });

  it.each([
    ['the segment is recorded', 'beginSegment', 'after'],
    ['entries are being deleted', 'deleteEntries', 'before'],
    ['entries and counters were deleted', 'deleteEntries', 'after'],
    ['the checkpoint moves', 'finishSegment', 'after'],
    ['the job completes', 'complete', 'after'],
  ] as const)('resumes exactly after a crash when %s', async (_name, step, when) => {
    // Prepare: three segments' worth of entries; the crash hits the second call of the step.
    const faults = new Faults();
    const { deps, events, jobs, seeded, advance } = setUp(SEGMENT_ENTRIES * 2 + 500, {
      partEntries: SEGMENT_ENTRIES * 3,
      faults,
    });
    const through = seeded[SEGMENT_ENTRIES * 2 + 399]?.id ?? -1;
    faults.add({ step, call: step === 'complete' ? 1 : 2, when, error: () => new Error('injected crash') });
    const started = await startPurge(deps, { tenant: TENANT, throughId: through, requester: BY_TOKEN });
    if (started.kind === 'busy') throw new Error('busy');
    await expect(runPurge(deps, TENANT, started.job.jobId, FOREVER)).rejects.toThrow('injected crash');
    faults.clear();
    // The crashed runner gave its lease back (or it expired): another run takes over.
    advance(61_000);

    // Act
    const resumed = await purgeThrough(
      deps,
      { tenant: TENANT, throughId: through, requester: BY_TOKEN },
      FOREVER,
    );

    // Assess
    expect(resumed).toMatchObject({ kind: 'ran', run: { outcome: 'completed' } });
    const job = await jobs.get(TENANT, started.job.jobId);
    expect(job).toMatchObject({
      status: 'completed',
      deleted: SEGMENT_ENTRIES * 2 + 400,
      checkpoint: through,
    });
    const remaining = left(events);
    expect(remaining.ids.filter((id) => id <= through)).toEqual([]);
    expect(remaining.ids).toHaveLength(100 + 1);
    expect(remaining.counted).toBe(100 + 1);
  });

  it('stops with "will resume" while the store stays busy, then finishes exactly once it is not', async () => {
    // Prepare
    const { deps, events, jobs, seeded } = setUp(150);
    const through = seeded[99]?.id ?? -1;
    const started = await startPurge(deps, { tenant: TENANT, throughId: through, requester: BY_TOKEN });
    if (started.kind === 'busy') throw new Error('busy');
    events.busy = true;

    // Act
    const stuck = await runPurge(deps, TENANT, started.job.jobId, FOREVER).catch((error: unknown) => error);
    const whileStuck = await jobs.get(TENANT, started.job.jobId);
    events.busy = false;
    const resumed = await runPurge(deps, TENANT, started.job.jobId, FOREVER);

    // Assess
    expect(stuck).toBeInstanceOf(TooManyRequestsError);
    expect((stuck as Error).message).toBe('The audit store is busy; the purge will resume where it stopped.');
    expect(whileStuck).toMatchObject({ status: 'running', deleted: 0, pending: through });
    expect(resumed).toMatchObject({ outcome: 'completed', deleted: 100 });
    expect(left(events).counted).toBe(51);
  });

  it('pauses when the time budget runs out after a segment, giving the lease back', async () => {
    // Prepare
    const { deps, jobs, seeded } = setUp(SEGMENT_ENTRIES + 10, { partEntries: SEGMENT_ENTRIES * 2 });
    const through = seeded[SEGMENT_ENTRIES + 9]?.id ?? -1;
    const started = await startPurge(deps, { tenant: TENANT, throughId: through, requester: BY_TOKEN });
    if (started.kind === 'busy') throw new Error('busy');

    // Act: the deadline is now, so the run stops after its first segment.
    const run = await runPurge(deps, TENANT, started.job.jobId, NOW);

    // Assess
    expect(run).toMatchObject({ outcome: 'paused', deleted: SEGMENT_ENTRIES });
    expect(jobs.jobs.get(`${TENANT}\u0000${started.job.jobId}`)?.leaseUntil).toBe(0);
  });

  it('leaves a job another runner holds alone (elsewhere)', async () => {
    // Prepare
    const { deps, jobs, events, seeded } = setUp(20);
    const started = await startPurge(deps, {
      tenant: TENANT,
      throughId: seeded[9]?.id ?? -1,
      requester: BY_TOKEN,
    });
    if (started.kind === 'busy') throw new Error('busy');
    await jobs.acquire(TENANT, started.job.jobId, 'someone-else', NOW, NOW + 60_000);

    // Act
    const run = await runPurge(deps, TENANT, started.job.jobId, FOREVER);

    // Assess
    expect(run).toMatchObject({ outcome: 'elsewhere', deleted: 0 });
    expect(left(events).ids).toHaveLength(20);
  });

  it('retention skips a tenant with nothing old enough, and purges what is', async () => {
    // Prepare: entries seeded a second before NOW; retention of 30 days.
    const { deps, events, advance } = setUp(10);

    // Act
    const young = await applyRetention(deps, TENANT, FOREVER);
    advance(31 * 86_400_000);
    const old = await applyRetention(deps, TENANT, FOREVER);

    // Assess
    expect(young).toMatchObject({ skipped: 'nothing-old-enough', run: undefined });
    expect(old).toMatchObject({ run: { outcome: 'completed', deleted: 10 } });
    expect(left(events).ids).toHaveLength(1);
  });
});
