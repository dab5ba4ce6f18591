import { crc32, deflateRawSync } from 'node:zlib';
import { crc32Combine } from '../domain/crc32.js';
import { EXPORT_JSON_NAME, type ExportJob, exportDocumentTail } from '../domain/export.js';
import { partNumberOf } from '../domain/export-plan.js';
import {
  centralDirectory,
  completeLocalHeader,
  dataDescriptor,
  type ZipEntryRecord,
} from '../domain/zip-format.js';
import {
  DEFLATE_LEVEL,
  EXPORT_FAILED_MESSAGE,
  ExportPlanError,
  type ExportStepMessage,
  type ParallelExportDependencies,
  parallelPlanOf,
} from './parallel-export.js';

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
