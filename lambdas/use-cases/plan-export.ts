import { deflateRawSync } from 'node:zlib';
import { exportLines, exportObjectKey } from '../domain/export.js';
import { type CountedSpan, chunkTargetEntries, type ExportPlan, planChunks } from '../domain/export-plan.js';
import { firstIdAt, lastIdAt, MAX_ID, timestampOfId } from '../domain/ids.js';
import { DAY_MS, dayOf, HOUR_MS } from '../domain/time.js';
import type { CounterStore } from '../ports/counter-store.js';
import { DEFLATE_LEVEL, type ExportStepMessage, type ParallelExportDependencies } from './parallel-export.js';

/**
 * Entries read to estimate how well the tenant's entries compress: one page. On the demo data 250
 * entries deflate to 28.0 bytes each, 20,000 to 24.6, so chunks come out at ~2.6 rather than 3
 * minimum parts: still far above S3's minimum.
 */
const SAMPLE_ENTRIES = 250;

/**
 * Step 1: fixes the snapshot (the newest id now), estimates the compressed size of an entry from
 * the newest ones, and cuts the range into chunks sized from the rollup counters. One chunk is the
 * single-worker path (`mode: single`, the export worker writes the zip as before); more start a
 * multipart upload that the chunks fill. Stored on the job, so a retried plan step returns the
 * same plan. Undefined when the job is no longer running.
 */
export const planExport = async (
  deps: ParallelExportDependencies,
  message: ExportStepMessage,
): Promise<ExportPlan | undefined> => {
  const { tenant, jobId } = message;
  const job = await deps.jobs.get(tenant, jobId);
  if (job?.status !== 'running') return undefined;
  const existing = await deps.plans.plan(tenant, jobId);
  if (existing) return existing;
  const now = deps.clock();
  const sample = await deps.events.queryPage({
    tenant,
    selector: { kind: 'all' },
    minId: 0,
    maxId: MAX_ID,
    newestFirst: true,
    limit: SAMPLE_ENTRIES,
  });
  const newest = sample.records[0];
  const single = () => deps.plans.savePlan(tenant, jobId, { mode: 'single' }, now);
  if (!newest) return single();
  const sampleText = Buffer.from(exportLines(sample.records, true), 'utf8');
  const compressedBytesPerEntry =
    deflateRawSync(sampleText, { level: DEFLATE_LEVEL }).length / sample.records.length;
  const totalEntries = await deps.counters.total(tenant, { kind: 'all' });
  const target = chunkTargetEntries({
    totalEntries,
    compressedBytesPerEntry,
    minPartBytes: deps.settings.minPartBytes,
    maxChunkEntries: deps.settings.maxChunkEntries,
  });
  if (totalEntries <= target) return single();
  const chunks = planChunks(await countedSpans(deps.counters, tenant, newest.id, target), newest.id, target);
  if (chunks.length < 2) return single();
  const objectKey = exportObjectKey(tenant, jobId);
  const uploadId = await deps.parts.createMultipart(objectKey);
  const plan: ExportPlan = {
    mode: 'parallel',
    uploadId,
    objectKey,
    snapshotMaxId: newest.id,
    mtime: now,
    forceZip64: deps.settings.forceZip64,
    chunks,
  };
  const held = await deps.plans.savePlan(tenant, jobId, plan, now);
  // A simultaneous plan step won: its upload holds, this one is discarded.
  if (held.mode !== 'parallel' || held.uploadId !== uploadId)
    await deps.parts.abortMultipart(objectKey, uploadId);
  return held;
};

/**
 * The tenant's entries up to the snapshot as counted spans, from the daily rollup counters; a day
 * holding more than `target` entries is opened into its hourly counters. Reads counters only.
 */
const countedSpans = async (
  counters: CounterStore,
  tenant: string,
  snapshotMaxId: number,
  target: number,
): Promise<CountedSpan[]> => {
  const lastDay = dayOf(timestampOfId(snapshotMaxId));
  const days = await counters.bucketCounts(tenant, { kind: 'all' }, 'day', 0, lastDay);
  const spans: CountedSpan[] = [];
  for (const { bucket: day, count } of days) {
    if (count <= target) {
      spans.push({ minId: firstIdAt(day * DAY_MS), maxId: lastIdAt(day * DAY_MS + DAY_MS - 1), count });
      continue;
    }
    const hours = await counters.bucketCounts(tenant, { kind: 'all' }, 'hour', day * 24, day * 24 + 23);
    for (const { bucket: hour, count: hourCount } of hours)
      spans.push({
        minId: firstIdAt(hour * HOUR_MS),
        maxId: lastIdAt(hour * HOUR_MS + HOUR_MS - 1),
        count: hourCount,
      });
  }
  return spans;
};
