import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_ID } from '../lambdas/domain/ids.js';
import { purgeDependencies, runPurge, startPurge } from '../lambdas/use-cases/purge-entries.js';
import { demoEvents } from '../local/demo-data.js';
import type { BenchModule } from './harness.js';

/**
 * Issue 5: purge throughput (entries/s, end to end: reads, transactional deletes with counter
 * decrements and checkpoints) ÷ raw BatchWriteItem deletes (25 a call, UnprocessedItems retried)
 * of the keys of an identical tenant; and what archiving to S3 costs on top.
 */
export const purgeBench: BenchModule = async (context) => {
  const { service, quick } = context;
  const { doc, config } = service.services;
  const size = quick ? 4_000 : 20_000;
  const now = Date.UTC(2026, 10, 1);
  const drafts = demoEvents({ count: size, days: 2, now, seed: 5 });
  const raw = context.tenant('purge-raw');
  const plain = context.tenant('purge-plain');
  const archived = context.tenant('purge-archive');
  for (const tenant of [raw, plain, archived]) await context.seed(tenant, drafts);
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

  // Baseline: the same number of keys, deleted with bare BatchWriteItem calls (keys read beforehand, untimed).
  const rawKeys = await keysOf(raw);
  const rawRun = await context.measureCapacity(async () => {
    const started = performance.now();
    for (let start = 0; start < rawKeys.length; start += 25) {
      let requests = rawKeys.slice(start, start + 25).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        const output = await doc.send(
          new BatchWriteCommand({ RequestItems: { [config.EVENTS_TABLE]: requests } }),
        );
        requests = (output.UnprocessedItems?.[config.EVENTS_TABLE] ?? []) as typeof requests;
        if (requests.length > 0)
          await new Promise((done) => setTimeout(done, Math.random() * 2 ** attempt * 10));
      }
    }
    return performance.now() - started;
  });

  const deps = purgeDependencies(service.services);
  const purge = (tenant: string, throughId: number) =>
    context.measureCapacity(async () => {
      const started = performance.now();
      const job = await startPurge(deps, {
        tenant,
        throughId,
        requester: { kind: 'token', tokenId: 'tok_bench', tokenName: 'bench' },
      });
      if (job.kind === 'busy') throw new Error('bench tenant is busy');
      const run = await runPurge(deps, tenant, job.job.jobId, Number.POSITIVE_INFINITY);
      if (run?.outcome !== 'completed' || run.deleted !== size)
        throw new Error('bench purge did not complete');
      return performance.now() - started;
    });
  const lastId = async (tenant: string) => (await keysOf(tenant)).at(-1)?.id ?? 0;
  const plainRun = await purge(plain, await lastId(plain));
  const archivedRun = await purge(archived, await lastId(archived));

  const rate = (ms: number) => size / (ms / 1000);
  const rawRate = rate(rawRun.result);
  const plainRate = rate(plainRun.result);
  const archivedRate = rate(archivedRun.result);
  return [
    {
      id: 'purge.throughput-ratio',
      issue: 5,
      description: 'Purge entries/s (no archive) ÷ raw BatchWriteItem deletes of the same number of keys',
      value: plainRate / rawRate,
      unit: 'ratio',
      goal: { op: '>=', target: 0.7 },
      details: `${size} entries: purge ${plainRate.toFixed(0)}/s (reads, transactional deletes + counter decrements + checkpoint, ${(plainRun.writeUnits / size).toFixed(2)} WCU/entry) vs raw ${rawRate.toFixed(0)}/s (${(rawRun.writeUnits / size).toFixed(2)} WCU/entry, keys known in advance)`,
    },
    {
      id: 'purge.archive-cost',
      issue: 5,
      description: 'Purge entries/s with the S3 archive ÷ without',
      value: archivedRate / plainRate,
      unit: 'ratio',
      details: `${size} entries: ${archivedRate.toFixed(0)}/s archiving (gzip JSON Lines parts of ${config.PURGE_PART_ENTRIES} + manifest on s3rver) vs ${plainRate.toFixed(0)}/s without`,
    },
  ];
};
