import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import { crc32Combine } from '../domain/crc32.js';
import {
  EXPORT_JSON_NAME,
  type ExportJob,
  exportDocumentTail,
  type ZipTrailingFile,
} from '../domain/export.js';
import { partNumberOf } from '../domain/export-plan.js';
import {
  centralDirectory,
  dataDescriptor,
  streamedLocalHeader,
  type ZipEntryRecord,
} from '../domain/zip-format.js';
import { crcMeter } from './crc-meter.js';
import {
  DEFLATE_LEVEL,
  EXPORT_FAILED_MESSAGE,
  ExportPlanError,
  type ExportStepMessage,
  type ParallelExportDependencies,
  parallelPlanOf,
} from './parallel-export.js';

/**
 * Appends one trailing file to the part file at `file` as a streamed zip entry (local header,
 * deflated data, data descriptor), its content read chunk by chunk; returns its record and length.
 */
const appendTrailingFile = async (
  file: string,
  trailing: ZipTrailingFile,
  localHeaderOffset: number,
  mtime: Date,
  forceZip64: boolean,
): Promise<{ entry: ZipEntryRecord; bytes: number }> => {
  const header = streamedLocalHeader(trailing.name, mtime);
  await appendFile(file, header);
  const before = (await stat(file)).size;
  const measure = crcMeter();
  const content = Buffer.isBuffer(trailing.content) ? [trailing.content] : trailing.content;
  await pipeline(
    Readable.from(content, { objectMode: false }),
    measure.stream,
    createDeflateRaw({ level: DEFLATE_LEVEL }),
    createWriteStream(file, { flags: 'a' }),
  );
  const compressedSize = (await stat(file)).size - before;
  const entry: ZipEntryRecord = {
    name: trailing.name,
    crc32: measure.crc(),
    compressedSize,
    uncompressedSize: measure.bytes(),
    localHeaderOffset,
    mtime,
    method: 8,
    streamed: true,
  };
  const descriptor = dataDescriptor(entry, forceZip64);
  await appendFile(file, descriptor);
  return { entry, bytes: header.length + compressedSize + descriptor.length };
};

/**
 * Step 3: checks every chunk is stored, combines their CRCs and sizes, and writes the last part —
 * the document's tail as the final deflate block, the data descriptor, any trailing files (streamed
 * through a scratch file) and the central directory (ZIP64 when needed or forced) — then completes
 * the upload and the job.
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
  const files = deps.trailingFiles
    ? await deps.trailingFiles({ tenant, snapshotMaxId: plan.snapshotMaxId, entries })
    : [];
  // The last part goes through a scratch file, so a streamed trailing file (the proof file, which
  // grows with the tenant) is never held in memory.
  const dir = await mkdtemp(join(deps.settings.scratchDir, 'export-finish-'));
  const lastPartNumber = partNumberOf(plan.chunks.length);
  let etag: string;
  let offset = (results[0]?.headerBytes ?? 0) + deflateBytes + descriptor.length;
  let directoryBytes: number;
  try {
    const file = join(dir, 'part');
    await writeFile(file, Buffer.concat([tail, descriptor]));
    for (const trailing of files) {
      const record = await appendTrailingFile(file, trailing, offset, mtime, plan.forceZip64);
      records.push(record.entry);
      offset += record.bytes;
    }
    const directory = centralDirectory(records, offset, plan.forceZip64);
    directoryBytes = directory.length;
    await appendFile(file, directory);
    const size = (await stat(file)).size;
    etag = await deps.parts.uploadPart(
      plan.objectKey,
      plan.uploadId,
      lastPartNumber,
      createReadStream(file),
      size,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
      bytes: offset + directoryBytes,
      snapshotMaxId: plan.snapshotMaxId,
    },
    deps.clock(),
  );
  return deps.jobs.get(tenant, jobId);
};

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
