import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import { crc32Combine } from '../domain/crc32.js';
import {
  EXPORT_DOCUMENT_HEAD,
  EXPORT_JSON_NAME,
  type ExportJob,
  exportDocumentTail,
  exportLines,
  exportObjectKey,
  type TrailingFiles,
} from '../domain/export.js';
import {
  type ChunkResult,
  type ChunkSpec,
  type CountedSpan,
  chunkTargetEntries,
  type ExportPlan,
  partNumberOf,
  planChunks,
} from '../domain/export-plan.js';
import { firstIdAt, lastIdAt, MAX_ID, timestampOfId } from '../domain/ids.js';
import type { AuditRecord } from '../domain/record.js';
import { DAY_MS, dayOf, HOUR_MS } from '../domain/time.js';
import {
  centralDirectory,
  completeLocalHeader,
  dataDescriptor,
  deflatePadding,
  streamedLocalHeader,
  type ZipEntryRecord,
} from '../domain/zip-format.js';
import type { CounterStore } from '../ports/counter-store.js';
import type { EventStore, PageResult } from '../ports/event-store.js';
import type { ExportJobStore, ExportPartStore, ExportPlanStore } from '../ports/export-store.js';

/** How parallel exports are sized and written. */
export interface ParallelExportSettings {
  /** Smallest part S3 accepts (5 MiB; lower only on an emulator, in tests). */
  readonly minPartBytes: number;
  /** Most entries in one chunk: its time bound (about two minutes at the measured pace). */
  readonly maxChunkEntries: number;
  /** Write ZIP64 records even when the sizes do not need them (tests). */
  readonly forceZip64: boolean;
  /** Where a chunk's compressed part waits for its upload (Lambda: /tmp). */
  readonly scratchDir: string;
}

/** What the steps of a parallel export need. */
export interface ParallelExportDependencies {
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly parts: ExportPartStore;
  readonly jobs: ExportJobStore;
  readonly plans: ExportPlanStore;
  readonly clock: () => number;
  readonly settings: ParallelExportSettings;
  /**
   * Files to add after the document, given what the export holds; none today. A later checkpoint
   * (signed tree head at `snapshotMaxId`) plugs in here without touching the chunk path.
   */
  readonly trailingFiles?: TrailingFiles;
}

/** An export job's step message (from the state machine, or the local driver). */
export interface ExportStepMessage {
  readonly tenant: string;
  readonly jobId: string;
}

/** Thrown when a chunk or the finishing step finds the job unable to go on (it then fails for good). */
export class ExportPlanError extends Error {
  override readonly name = 'ExportPlanError';
}

/** Entries read to estimate how well the tenant's entries compress. */
const SAMPLE_ENTRIES = 1000;
/** Entries a chunk reads per query (as the single-worker export, for the same memory profile). */
const PAGE_SIZE = 250;
const DEFLATE_LEVEL = 6;

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

/** The running job's parallel plan; throws when there is none (a step out of order). */
const parallelPlanOf = async (
  deps: Pick<ParallelExportDependencies, 'plans'>,
  message: ExportStepMessage,
): Promise<Extract<ExportPlan, { mode: 'parallel' }>> => {
  const plan = await deps.plans.plan(message.tenant, message.jobId);
  if (plan?.mode !== 'parallel')
    throw new ExportPlanError(`export job ${message.jobId} has no parallel plan`);
  return plan;
};

/** The chunk's entries, newest first, a page at a time with the next page prefetched. */
async function* chunkPages(
  events: EventStore,
  tenant: string,
  chunk: ChunkSpec,
): AsyncGenerator<readonly AuditRecord[]> {
  const fetchPage = (maxId: number): Promise<PageResult> => {
    const page = events.queryPage({
      tenant,
      selector: { kind: 'all' },
      minId: chunk.minId,
      maxId,
      newestFirst: true,
      limit: PAGE_SIZE,
    });
    // A prefetched page may fail while the previous one is compressed; it is awaited below.
    page.catch(() => undefined);
    return page;
  };
  let next: Promise<PageResult> | undefined = fetchPage(chunk.maxId);
  while (next) {
    const { records }: PageResult = await next;
    const last = records[records.length - 1];
    if (!last) return;
    next = records.length === PAGE_SIZE && last.id > chunk.minId ? fetchPage(last.id - 1) : undefined;
    yield records;
  }
}

/**
 * Step 2, one per chunk (in parallel): the chunk's entries as document text (chunk 0 starts the
 * document, and with the zip's local header), compressed as raw deflate ended with a full flush,
 * into a scratch file, then stored as the chunk's part. A part smaller than S3's minimum (the
 * estimate was off) is padded with empty stored blocks, which inflate to nothing. A retried chunk
 * writes the same part number again, replacing any earlier attempt's part. Undefined when the job
 * is no longer running (it failed meanwhile): nothing is uploaded then.
 */
export const runExportChunk = async (
  deps: ParallelExportDependencies,
  message: ExportStepMessage & { readonly chunk: Pick<ChunkSpec, 'index'> },
): Promise<ChunkResult | undefined> => {
  const { tenant, jobId } = message;
  const job = await deps.jobs.get(tenant, jobId);
  if (job?.status !== 'running') return undefined;
  const plan = await parallelPlanOf(deps, message);
  // The stored plan is the authority on the chunk's range, not the message.
  const planned = plan.chunks[message.chunk.index];
  if (!planned) throw new ExportPlanError(`export job ${jobId} has no chunk ${message.chunk.index}`);
  const chunk: ChunkSpec = planned;
  const first = chunk.index === 0;
  const dir = await mkdtemp(join(deps.settings.scratchDir, 'export-chunk-'));
  const file = join(dir, 'part');
  try {
    const header = first ? streamedLocalHeader(EXPORT_JSON_NAME, new Date(plan.mtime)) : Buffer.alloc(0);
    await writeFile(file, header);
    let entries = 0;
    let crc = 0;
    let textBytes = 0;
    async function* text(): AsyncGenerator<Buffer> {
      if (first) yield Buffer.from(EXPORT_DOCUMENT_HEAD, 'utf8');
      for await (const records of chunkPages(deps.events, tenant, chunk)) {
        yield Buffer.from(exportLines(records, first && entries === 0), 'utf8');
        entries += records.length;
      }
    }
    const measure = new Transform({
      transform(piece: Buffer, _encoding, callback) {
        crc = crc32(piece, crc);
        textBytes += piece.length;
        callback(null, piece);
      },
    });
    await pipeline(
      Readable.from(text(), { objectMode: false }),
      measure,
      // Full flush at the end: byte-aligned, no final block, so the next chunk's data follows on.
      createDeflateRaw({ level: DEFLATE_LEVEL, finishFlush: constants.Z_FULL_FLUSH }),
      // Appends: the local header is already there.
      createWriteStream(file, { flags: 'a' }),
    );
    let size = (await stat(file)).size;
    if (size < deps.settings.minPartBytes) {
      await appendFile(file, deflatePadding(deps.settings.minPartBytes - size));
      size = (await stat(file)).size;
    }
    const etag = await deps.parts.uploadPart(
      plan.objectKey,
      plan.uploadId,
      partNumberOf(chunk.index),
      createReadStream(file),
      size,
    );
    const result: ChunkResult = {
      index: chunk.index,
      etag,
      crc32: crc,
      textBytes,
      deflateBytes: size - header.length,
      headerBytes: header.length,
      entries,
    };
    return (await deps.plans.recordChunk(tenant, jobId, result, deps.clock())) ? result : undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/**
 * Step 3: checks every chunk is stored, combines their CRCs and sizes, and writes the last part —
 * the document's tail as the final deflate block, the data descriptor, any trailing files and the
 * central directory (ZIP64 when needed or forced) — then completes the upload and the job.
 */
export const finishExport = async (
  deps: ParallelExportDependencies,
  message: ExportStepMessage,
): Promise<ExportJob | undefined> => {
  const { tenant, jobId } = message;
  const job = await deps.jobs.get(tenant, jobId);
  if (job?.status !== 'running') return job;
  const plan = await parallelPlanOf(deps, message);
  const results = await deps.plans.chunkResults(tenant, jobId);
  if (results.length !== plan.chunks.length || results.some((result, index) => result.index !== index))
    throw new ExportPlanError(
      `export job ${jobId}: ${results.length} of ${plan.chunks.length} chunks stored`,
    );
  const entries = results.reduce((sum, result) => sum + result.entries, 0);
  // Chunk 0 wrote the document's first entry without a separator; it held the snapshot's newest
  // entry when planned, so it is empty only if entries were purged under the export.
  if (entries > 0 && results[0]?.entries === 0)
    throw new ExportPlanError(`export job ${jobId}: the newest entries were removed during the export`);
  let crc = 0;
  let textBytes = 0;
  let deflateBytes = 0;
  for (const result of results) {
    crc = textBytes === 0 ? result.crc32 : crc32Combine(crc, result.crc32, result.textBytes);
    textBytes += result.textBytes;
    deflateBytes += result.deflateBytes;
  }
  const tailText = Buffer.from(exportDocumentTail(entries), 'utf8');
  const tail = deflateRawSync(tailText, { level: DEFLATE_LEVEL });
  crc = crc32Combine(crc, crc32(tailText), tailText.length);
  textBytes += tailText.length;
  deflateBytes += tail.length;
  const mtime = new Date(plan.mtime);
  const document: ZipEntryRecord = {
    name: EXPORT_JSON_NAME,
    crc32: crc,
    compressedSize: deflateBytes,
    uncompressedSize: textBytes,
    localHeaderOffset: 0,
    mtime,
    method: 8,
    streamed: true,
  };
  const descriptor = dataDescriptor(document, plan.forceZip64);
  const records: ZipEntryRecord[] = [document];
  const trailing: Buffer[] = [];
  let offset = (results[0]?.headerBytes ?? 0) + deflateBytes + descriptor.length;
  const files = deps.trailingFiles
    ? await deps.trailingFiles({ tenant, snapshotMaxId: plan.snapshotMaxId, entries })
    : [];
  for (const file of files) {
    const data = deflateRawSync(file.content, { level: DEFLATE_LEVEL });
    const record: ZipEntryRecord = {
      name: file.name,
      crc32: crc32(file.content),
      compressedSize: data.length,
      uncompressedSize: file.content.length,
      localHeaderOffset: offset,
      mtime,
      method: 8,
      streamed: false,
    };
    const header = completeLocalHeader(record);
    trailing.push(header, data);
    records.push(record);
    offset += header.length + data.length;
  }
  const directory = centralDirectory(records, offset, plan.forceZip64);
  const lastPart = Buffer.concat([tail, descriptor, ...trailing, directory]);
  const lastPartNumber = partNumberOf(plan.chunks.length);
  const etag = await deps.parts.uploadPart(
    plan.objectKey,
    plan.uploadId,
    lastPartNumber,
    lastPart,
    lastPart.length,
  );
  await deps.parts.completeMultipart(plan.objectKey, plan.uploadId, [
    ...results.map((result) => ({ partNumber: partNumberOf(result.index), etag: result.etag })),
    { partNumber: lastPartNumber, etag },
  ]);
  await deps.jobs.complete(
    tenant,
    jobId,
    {
      objectKey: plan.objectKey,
      entries,
      bytes: offset + directory.length,
      snapshotMaxId: plan.snapshotMaxId,
    },
    deps.clock(),
  );
  return deps.jobs.get(tenant, jobId);
};

/** The message a job that failed for good shows. */
export const EXPORT_FAILED_MESSAGE = 'The export could not be completed; download again to retry';

/**
 * When a step failed for good (retries spent): marks the job failed, so no chunk records any more,
 * then aborts its multipart upload, discarding every part stored. Safe to repeat.
 */
export const abortExport = async (
  deps: Pick<ParallelExportDependencies, 'jobs' | 'plans' | 'parts' | 'clock'>,
  message: ExportStepMessage,
): Promise<void> => {
  const { tenant, jobId } = message;
  const job = await deps.jobs.get(tenant, jobId);
  if (job?.status === 'running') {
    await deps.jobs.fail(tenant, jobId, EXPORT_FAILED_MESSAGE, deps.clock()).catch((error: unknown) => {
      // Finished meanwhile (ConditionalCheckFailed): its state stands.
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    });
  }
  const plan = await deps.plans.plan(tenant, jobId);
  if (plan?.mode === 'parallel' && (await deps.jobs.get(tenant, jobId))?.status !== 'completed')
    await deps.parts.abortMultipart(plan.objectKey, plan.uploadId);
};
