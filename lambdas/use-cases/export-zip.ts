import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw } from 'node:zlib';
import { EXPORT_JSON_NAME, exportDocument, type TrailingFiles } from '../domain/export.js';
import { MAX_ID } from '../domain/ids.js';
import type { AuditRecord } from '../domain/record.js';
import {
  centralDirectory,
  dataDescriptor,
  streamedLocalHeader,
  type ZipEntryRecord,
} from '../domain/zip-format.js';
import type { EventStore, PageResult } from '../ports/event-store.js';
import type { ExportUpload } from '../ports/export-store.js';
import { crcMeter } from './crc-meter.js';
import { DEFLATE_LEVEL } from './parallel-export.js';

/**
 * Entries read per query. Small pages keep little alive across the awaits between stages, so
 * V8 promotes little to its old generation: with 1000 a 200k export peaked ~45 MB higher (all
 * garbage: the live heap stays ~22 MB either way) and ran slower on DynamoDB Local.
 */
const PAGE_SIZE = 250;
/** A projection needs this much history before it is trusted. */
const PROJECTION_WARMUP_MS = 1000;

/** Thrown (and caught by the caller) when an export cannot finish within its time budget. */
export class ExportBudgetExceeded extends Error {
  override readonly name = 'ExportBudgetExceeded';
}

/** What the pipeline needs. */
export interface ZipExportOptions {
  readonly events: EventStore;
  readonly tenant: string;
  /** Zips up to this size stay in memory; a larger one moves to `startUpload()`. −1: always upload. */
  readonly inlineMaxBytes: number;
  startUpload(): ExportUpload;
  readonly clock: () => number;
  /** Epoch ms by which the export must be done. */
  readonly deadline: number;
  /**
   * When set (the tenant's exact entry count), the export gives up as soon as its own pace
   * projects a finish past the deadline, instead of finding out at the deadline.
   */
  readonly expectedEntries?: number;
  /** Files to add after the document once it is read (the verifiable log's proof file); none by default. */
  readonly trailingFiles?: TrailingFiles;
}

export type ZipExportResult =
  | {
      readonly kind: 'inline';
      readonly zip: Buffer;
      readonly entries: number;
      readonly snapshotMaxId: number;
    }
  | {
      readonly kind: 'stored';
      readonly bytes: number;
      readonly entries: number;
      readonly snapshotMaxId: number;
    };

/**
 * Streams a tenant's entries, newest first, into a zipped JSON document in constant memory:
 * query pages (one prefetched) → JSON text → deflate (Node's zlib) → zip records → memory while the
 * zip is small, else a multipart upload with backpressure all the way back to the queries.
 *
 * Snapshot: the first page fixes the newest id; every later page is bounded below the last id
 * read, so entries written during the export (its own download record included) are not in it.
 * On any failure or overrun the upload is cancelled and awaited: nothing half-written remains.
 */
export const exportZip = async (options: ZipExportOptions): Promise<ZipExportResult> => {
  const started = options.clock();
  let entries = 0;
  let snapshotMaxId = 0;
  const fetchPage = (maxId: number): Promise<PageResult> => {
    const page = options.events.queryPage({
      tenant: options.tenant,
      selector: { kind: 'all' },
      minId: 0,
      maxId,
      newestFirst: true,
      limit: PAGE_SIZE,
    });
    // A prefetched page may fail while the previous one is being zipped; it is awaited later.
    page.catch(() => undefined);
    return page;
  };
  const checkBudget = () => {
    const now = options.clock();
    if (now >= options.deadline) throw new ExportBudgetExceeded('time budget spent');
    const elapsed = now - started;
    if (options.expectedEntries !== undefined && entries > 0 && elapsed >= PROJECTION_WARMUP_MS) {
      const projectedEnd = started + (elapsed * Math.max(options.expectedEntries, entries)) / entries;
      if (projectedEnd > options.deadline) throw new ExportBudgetExceeded('projected past the time budget');
    }
  };
  // With trailing files that say what to keep, the exported entries are kept aside in a scratch
  // file (a line each) as the document is written, for the files to read again instead of the store.
  const keep = options.trailingFiles?.keep;
  const spill = keep ? await Spill.open(keep) : undefined;
  async function* pages(): AsyncGenerator<readonly AuditRecord[]> {
    let next: Promise<PageResult> | undefined = fetchPage(MAX_ID);
    while (next) {
      checkBudget();
      const { records }: PageResult = await next;
      const last = records[records.length - 1];
      if (!last) return;
      if (entries === 0) snapshotMaxId = records[0]?.id ?? 0;
      next = records.length === PAGE_SIZE && last.id > 0 ? fetchPage(last.id - 1) : undefined;
      entries += records.length;
      await spill?.write(records);
      yield records;
    }
  }

  const source = Readable.from(exportDocument(pages()), { objectMode: false });
  const zipped = new PassThrough();
  const sink = new SpillSink(options.inlineMaxBytes, options.startUpload);
  const zip: ZipInProgress = { out: zipped, mtime: new Date(started), offset: 0, records: [] };
  const { trailingFiles } = options;
  const trailing: Readable[] = [];
  const writing = (async () => {
    await writeEntry(zip, EXPORT_JSON_NAME, source);
    if (trailingFiles) {
      // Only once the document is read is its snapshot known; the files follow it in the zip.
      const kept = spill?.full ? undefined : spill?.close();
      // Awaited by whoever reads the spill; none may (no proof file), so never left unhandled.
      kept?.catch(() => undefined);
      const files = await trailingFiles({
        tenant: options.tenant,
        snapshotMaxId,
        entries,
        ...(spill && kept ? { exported: () => spill.read(kept) } : {}),
      });
      for (const file of files) {
        // A streamed file is read as the zip reaches it, with backpressure from the sink.
        const content = Buffer.isBuffer(file.content) ? [file.content] : file.content;
        const stream = Readable.from(content, { objectMode: false });
        trailing.push(stream);
        await writeEntry(zip, file.name, stream);
      }
    }
    zipped.end(centralDirectory(zip.records, zip.offset, false));
  })();
  // Any failure of the writing (the source's, a trailing file's) fails the whole pipeline.
  writing.catch((error: unknown) => zipped.destroy(asError(error)));
  try {
    await pipeline(zipped, sink);
    await spill?.remove();
    if (sink.upload) {
      sink.upload.stream.end();
      await sink.upload.done;
      return { kind: 'stored', bytes: sink.bytes, entries, snapshotMaxId };
    }
    return { kind: 'inline', zip: Buffer.concat(sink.chunks), entries, snapshotMaxId };
  } catch (error) {
    source.destroy();
    for (const stream of trailing) stream.destroy();
    await spill?.remove().catch(() => undefined);
    if (sink.upload) {
      sink.upload.stream.destroy(asError(error));
      // Wait for the cancelled upload to be cleaned up before answering.
      await sink.upload.done.catch(() => undefined);
    }
    throw error;
  }
};

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** A zip being written to `out`: the bytes written so far and the entries they hold. */
interface ZipInProgress {
  readonly out: Writable;
  readonly mtime: Date;
  offset: number;
  readonly records: ZipEntryRecord[];
}

/**
 * Writes `content` to the zip as one streamed entry: local header, deflated data, data
 * descriptor — the records of `lambdas/domain/zip-format.ts`, which the parallel export writes
 * too (so both paths give the same kind of file), with the entry's CRC and sizes counted on the
 * way. Leaves `zip.out` open for the next entry.
 */
const writeEntry = async (zip: ZipInProgress, name: string, content: Readable): Promise<void> => {
  const header = streamedLocalHeader(name, zip.mtime);
  const localHeaderOffset = zip.offset;
  const measure = crcMeter();
  let compressedSize = 0;
  let trailer = 0;
  const frame = new Transform({
    transform(piece: Buffer, _encoding, callback) {
      compressedSize += piece.length;
      callback(null, piece);
    },
    flush(callback) {
      const entry: ZipEntryRecord = {
        name,
        crc32: measure.crc(),
        compressedSize,
        uncompressedSize: measure.bytes(),
        localHeaderOffset,
        mtime: zip.mtime,
        method: 8,
        streamed: true,
      };
      zip.records.push(entry);
      const descriptor = dataDescriptor(entry, false);
      trailer = descriptor.length;
      callback(null, descriptor);
    },
  });
  // The header goes out at once (a few bytes, past any backpressure): the sink sees the zip begin
  // before deflate has anything to say.
  zip.out.write(header);
  await pipeline(content, measure.stream, createDeflateRaw({ level: DEFLATE_LEVEL }), frame, zip.out, {
    end: false,
  });
  zip.offset += header.length + compressedSize + trailer;
};

/**
 * Keeps the zip in memory up to `inlineMaxBytes`; past that it opens the upload, hands it what it
 * has buffered and forwards the rest, waiting for the upload to drain (backpressure).
 */
class SpillSink extends Writable {
  readonly #inlineMaxBytes: number;
  readonly #startUpload: () => ExportUpload;
  chunks: Buffer[] = [];
  bytes = 0;
  upload: ExportUpload | undefined;

  constructor(inlineMaxBytes: number, startUpload: () => ExportUpload) {
    super({ highWaterMark: 256 * 1024 });
    this.#inlineMaxBytes = inlineMaxBytes;
    this.#startUpload = startUpload;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.upload) {
      this.#forward(this.upload, chunk, callback);
      return;
    }
    this.chunks.push(chunk);
    if (this.bytes <= this.#inlineMaxBytes) {
      callback();
      return;
    }
    const upload = this.#startUpload();
    this.upload = upload;
    // A failed upload stops the pipeline at once rather than leaving writes waiting for a drain.
    upload.done.catch((error: unknown) => this.destroy(asError(error)));
    // Hand over what was buffered without copying it; the last chunk waits for the drain.
    const buffered = this.chunks;
    this.chunks = [];
    const last = buffered.pop() ?? chunk;
    for (const earlier of buffered) upload.stream.write(earlier);
    this.#forward(upload, last, callback);
  }

  #forward(upload: ExportUpload, chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (upload.stream.write(chunk)) callback();
    else upload.stream.once('drain', () => callback());
  }
}

/**
 * Most bytes kept aside: well within Lambda's default 512 MB of /tmp. A larger export stops keeping
 * its entries (the file is dropped), and its trailing files read the store again instead.
 */
const SPILL_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Records kept aside in a scratch file, a line each (what the trailing files' `keep` makes of it),
 * and read back as lines, a page at a time: the files get their own lines again, with no parse and
 * no rewrite per entry. (Passing the file's bytes on as read was worse: a 200k export's proof file
 * then made little but buffers, ~30 MB of them dead between two scavenges, where lines of text
 * make V8 collect as often as it reads.)
 */
class Spill {
  readonly #dir: string;
  readonly #file: string;
  readonly #out: WriteStream;
  readonly #keep: (record: AuditRecord) => string;
  #bytes = 0;
  /** True once the export outgrew {@link SPILL_MAX_BYTES}: nothing is kept any more. */
  full = false;

  private constructor(dir: string, keep: (record: AuditRecord) => string) {
    this.#dir = dir;
    this.#file = join(dir, 'entries.jsonl');
    this.#out = createWriteStream(this.#file);
    this.#keep = keep;
  }

  static async open(keep: (record: AuditRecord) => string): Promise<Spill> {
    return new Spill(await mkdtemp(join(tmpdir(), 'export-spill-')), keep);
  }

  /** Appends a page, waiting for the file to drain (so a slow disk holds back the export). */
  async write(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0 || this.full) return;
    let text = '';
    for (const record of records) text += `${this.#keep(record)}\n`;
    this.#bytes += Buffer.byteLength(text);
    if (this.#bytes > SPILL_MAX_BYTES) {
      this.full = true;
      await this.remove();
      return;
    }
    if (!this.#out.write(text)) await once(this.#out, 'drain');
  }

  /** Ends the file; resolves once it is on disk. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#out.once('error', reject);
      this.#out.end(() => resolve());
    });
  }

  /** The kept lines again, in the order written, a page at a time. */
  async *read(closed: Promise<void>): AsyncGenerator<readonly string[]> {
    await closed;
    let page: string[] = [];
    for await (const line of createInterface({
      input: createReadStream(this.#file),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      page.push(line);
      if (page.length === PAGE_SIZE) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async remove(): Promise<void> {
    this.#out.destroy();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
