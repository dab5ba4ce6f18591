import { batchWriteAll } from '../lambdas/adapters/dynamodb-batch-write.js';
import { eventKey } from '../lambdas/adapters/dynamodb-keys.js';
import { purgeDependencies } from '../lambdas/composition/purge.js';
import { MAX_ID } from '../lambdas/domain/ids.js';
import { runPurge, startPurge } from '../lambdas/use-cases/purge-entries.js';
import { bulkWrite } from '../local/bulk-write.js';
import { demoEvents } from '../local/demo-data.js';
import type { BenchModule } from './harness.js';

/**
 * Issue 5: purge throughput (entries/s, end to end: reads, intents, counter decrements,
 * BatchWriteItem deletes and checkpoints) ÷ raw BatchWriteItem deletes (25 a call,
 * UnprocessedItems retried) of the keys of an identical tenant; and what archiving costs on top.
 */
export const purgeBench: BenchModule = async (context) => {
  const { quick } = context;
  // Quick: 1,500 entries (still 60 BatchWriteItem calls and many counter chunks a purge).
  const size = quick ? 1_500 : 20_000;
  const sparseSize = quick ? 500 : 5_000;
  const rounds = 3;
  // Warm-up (JIT, table files) so the first measured run is not penalised.
  await measure(context, 500, 2, false, 1);
  // Dense: a busy tenant (hundreds of entries an hour), where purge throughput matters.
  const dense = await measure(context, size, 2, true, rounds);
  // Sparse: ~5 entries an hour, so nearly every entry brings its own hourly counters to decrement.
  const sparse = await measure(context, sparseSize, 30, false, rounds);
  const { PURGE_PART_ENTRIES } = context.service.services.config;
  return [
    {
      id: 'purge.throughput-ratio',
      issue: 5,
      description: 'Purge entries/s (no archive) ÷ raw BatchWriteItem deletes of as many keys',
      value: dense.ratio,
      unit: 'ratio',
      goal: { op: '>=', target: 0.7 },
      details: `median of ${rounds} rounds in rotating order; ${size} entries over 2 days: purge ${dense.plain.toFixed(0)}/s end to end (reads, intent, counter decrements, BatchWriteItem deletes, checkpoints; ${dense.plainUnits.toFixed(2)} WCU/entry) vs raw ${dense.raw.toFixed(0)}/s (keys known in advance; ${dense.rawUnits.toFixed(2)} WCU/entry)`,
    },
    {
      id: 'purge.throughput-ratio-sparse',
      issue: 5,
      description: 'The same ratio for a sparse tenant (entries spread over 30 days)',
      value: sparse.ratio,
      unit: 'ratio',
      details: `median of ${rounds} rounds; ${sparseSize} entries over 30 days: purge ${sparse.plain.toFixed(0)}/s vs raw ${sparse.raw.toFixed(0)}/s; hourly counters to decrement grow with hours × actions × users spanned, not with entries`,
    },
    {
      id: 'purge.archive-cost',
      issue: 5,
      description: 'Purge entries/s with the S3 archive ÷ without',
      value: dense.archiveRatio ?? 0,
      unit: 'ratio',
      details: `${size} entries: ${(dense.archived ?? 0).toFixed(0)}/s archiving (gzip JSON Lines parts of ${PURGE_PART_ENTRIES} + manifest, written before the deletes, on s3rver) vs ${dense.plain.toFixed(0)}/s without`,
    },
  ];
};

interface Rates {
  /** Median over the rounds of purge ÷ raw entries/s. */
  readonly ratio: number;
  /** Median over the rounds of archiving purge ÷ purge entries/s. */
  readonly archiveRatio: number | undefined;
  readonly raw: number;
  readonly plain: number;
  readonly archived: number | undefined;
  readonly rawUnits: number;
  readonly plainUnits: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/**
 * Seeds identical tenants and times raw deletes, a purge and (optionally) an archiving purge of
 * them, in `rounds` rounds whose order rotates (the machine's load drifts; back-to-back pairs in
 * every order keep the ratios fair), and reports the median ratios.
 */
const measure = async (
  context: Parameters<BenchModule>[0],
  size: number,
  days: number,
  withArchive: boolean,
  rounds: number,
): Promise<Rates> => {
  const results: Round[] = [];
  for (let round = 0; round < rounds; round += 1)
    results.push(await measureRound(context, size, days, withArchive, round));
  const last = results[results.length - 1] as Round;
  const rate = (ms: number) => size / (ms / 1000);
  return {
    ratio: median(results.map((r) => r.rawMs / r.plainMs)),
    archiveRatio: withArchive
      ? median(results.map((r) => r.plainMs / (r.archivedMs ?? Number.NaN)))
      : undefined,
    raw: rate(median(results.map((r) => r.rawMs))),
    plain: rate(median(results.map((r) => r.plainMs))),
    archived: withArchive ? rate(median(results.map((r) => r.archivedMs ?? 0))) : undefined,
    rawUnits: last.rawUnits / size,
    plainUnits: last.plainUnits / size,
  };
};

interface Round {
  readonly rawMs: number;
  readonly plainMs: number;
  readonly archivedMs: number | undefined;
  readonly rawUnits: number;
  readonly plainUnits: number;
}

const measureRound = async (
  context: Parameters<BenchModule>[0],
  size: number,
  days: number,
  withArchive: boolean,
  round: number,
): Promise<Round> => {
  const { service } = context;
  const { doc, config } = service.services;
  const drafts = demoEvents({ count: size, days, now: Date.UTC(2026, 10, 1), seed: 5 + round });
  const raw = context.tenant('purge-raw');
  const plain = context.tenant('purge-plain');
  const archived = context.tenant('purge-archive');
  // Seeded with BatchWriteItem, counters derived by the stream consumer (what purge reads and
  // decrements is the same either way): faster than appends, so rounds go to purging, not seeding.
  const tables = { eventsTable: config.EVENTS_TABLE };
  for (const tenant of withArchive ? [raw, plain, archived] : [raw, plain])
    await bulkWrite(doc, tables, tenant, drafts);
  // Purge decrements the counters the consumer has added: it must have caught up before purging.
  await service.settle();
  await service.services.tenants.update(plain, { archive: false }, Date.now());
  await service.services.tenants.update(archived, { archive: true }, Date.now());

  const keysOf = async (tenant: string) =>
    (
      await service.services.events.queryPage({
        tenant,
        selector: { kind: 'all' },
        minId: 0,
        maxId: MAX_ID,
        newestFirst: false,
        limit: size,
      })
    ).records.map((record) => ({ tenant, id: record.id }));

  // Baseline: as many keys, deleted with bare BatchWriteItem calls (keys read beforehand, untimed).
  const rawKeys = await keysOf(raw);
  const runRaw = () =>
    context.measureCapacity(async () => {
      const started = performance.now();
      await batchWriteAll(
        doc,
        config.EVENTS_TABLE,
        rawKeys.map(({ tenant, id }) => ({ DeleteRequest: { Key: eventKey(tenant, id) } })),
      );
      return performance.now() - started;
    });

  const deps = purgeDependencies(service.services.config);
  const lastIds = new Map<string, number>();
  for (const tenant of [plain, archived]) lastIds.set(tenant, (await keysOf(tenant)).at(-1)?.id ?? 0);
  const runPurgeOf = (tenant: string) =>
    context.measureCapacity(async () => {
      const started = performance.now();
      const job = await startPurge(deps, {
        tenant,
        throughId: lastIds.get(tenant) ?? 0,
        requester: { kind: 'token', tokenId: 'tok_bench', tokenName: 'bench' },
      });
      if (job.kind === 'busy') throw new Error('bench tenant is busy');
      const run = await runPurge(deps, tenant, job.job.jobId, Number.POSITIVE_INFINITY);
      if (run?.outcome !== 'completed' || run.deleted !== size)
        throw new Error('bench purge did not complete');
      return performance.now() - started;
    });

  const steps: (() => Promise<void>)[] = [];
  let rawRun: { result: number; writeUnits: number } | undefined;
  let plainRun: { result: number; writeUnits: number } | undefined;
  let archivedRun: { result: number } | undefined;
  steps.push(async () => {
    rawRun = await runRaw();
  });
  steps.push(async () => {
    plainRun = await runPurgeOf(plain);
  });
  if (withArchive)
    steps.push(async () => {
      archivedRun = await runPurgeOf(archived);
    });
  for (let step = 0; step < steps.length; step += 1) await steps[(step + round) % steps.length]?.();
  if (!rawRun || !plainRun) throw new Error('bench round incomplete');
  return {
    rawMs: rawRun.result,
    plainMs: plainRun.result,
    archivedMs: archivedRun?.result,
    rawUnits: rawRun.writeUnits,
    plainUnits: plainRun.writeUnits,
  };
};
