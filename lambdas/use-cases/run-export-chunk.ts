import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, crc32, createDeflateRaw } from 'node:zlib';
import { EXPORT_DOCUMENT_HEAD, EXPORT_JSON_NAME, exportLines } from '../domain/export.js';
import { type ChunkResult, type ChunkSpec, partNumberOf } from '../domain/export-plan.js';
import type { AuditRecord } from '../domain/record.js';
import { deflatePadding, streamedLocalHeader } from '../domain/zip-format.js';
import type { EventStore, PageResult } from '../ports/event-store.js';
import {
  DEFLATE_LEVEL,
  ExportPlanError,
  type ExportStepMessage,
  type ParallelExportDependencies,
  parallelPlanOf,
} from './parallel-export.js';

/** Entries a chunk reads per query (as the single-worker export, for the same memory profile). */
const PAGE_SIZE = 250;

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
