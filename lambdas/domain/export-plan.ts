/**
 * Parallel exports: an export job's id range cut into chunks that workers compress side by side,
 * each into one part of a single S3 multipart upload (docs/download.md, "Parallel export jobs").
 *
 * Every chunk is raw deflate ended with a full flush (byte-aligned, no final block), so the
 * chunks' outputs concatenate into one deflate stream, as pigz does; the finishing step adds the
 * document's tail as the final block, the data descriptor and the central directory.
 */

/** One chunk: the entries with ids in [minId, maxId], newest first; chunk 0 holds the newest. */
export interface ChunkSpec {
  readonly index: number;
  readonly minId: number;
  readonly maxId: number;
}

/** What a chunk stored: its part and what the finishing step needs to describe the whole. */
export interface ChunkResult {
  readonly index: number;
  readonly etag: string;
  /** CRC-32 of the chunk's JSON text. */
  readonly crc32: number;
  /** Bytes of JSON text. */
  readonly textBytes: number;
  /** Bytes of deflate data in the part (padding included; the local header is not). */
  readonly deflateBytes: number;
  /** Bytes before the deflate data in the part: the zip's local header, in chunk 0 only. */
  readonly headerBytes: number;
  readonly entries: number;
}

/** How an export job is made, as its plan step decided. */
export type ExportPlan =
  | { readonly mode: 'single' }
  | {
      readonly mode: 'parallel';
      readonly uploadId: string;
      readonly objectKey: string;
      readonly snapshotMaxId: number;
      /** Epoch ms: the zip entry's modification time. */
      readonly mtime: number;
      readonly forceZip64: boolean;
      readonly chunks: readonly ChunkSpec[];
    };

/** The multipart part number of chunk `index`; the finishing step's part comes after the last chunk. */
export const partNumberOf = (index: number): number => index + 1;

/**
 * Most chunks in one export. S3 allows 10,000 parts; a Step Functions inline Map keeps every
 * iteration in an execution history of at most 25,000 events (about 6 per chunk, retries more),
 * and the plan travels in the state (256 KB): 2000 chunks keeps well inside all three.
 */
export const MAX_EXPORT_CHUNKS = 2000;

/** How the state machine (and the local driver) retries a chunk: waits 2 s, 4 s, 8 s. */
export const CHUNK_RETRY = { retries: 3, intervalSeconds: 2, backoffRate: 2 } as const;

/**
 * Estimated output of a chunk relative to S3's minimum part size: chunks are sized for three
 * times the minimum, so an estimate off by up to 3× still gives parts S3 accepts.
 */
export const PART_SIZE_MARGIN = 3;

/** A stretch of ids with a known (rollup) entry count, e.g. a UTC day or hour. */
export interface CountedSpan {
  readonly minId: number;
  readonly maxId: number;
  readonly count: number;
}

/**
 * How many entries a chunk should hold: enough that its compressed output clears the minimum part
 * size `PART_SIZE_MARGIN` times over at the sampled compression, at most `maxChunkEntries` (the
 * time bound: a chunk should finish in about two minutes), and enough that the export needs no
 * more than {@link MAX_EXPORT_CHUNKS} chunks.
 */
export const chunkTargetEntries = (options: {
  readonly totalEntries: number;
  readonly compressedBytesPerEntry: number;
  readonly minPartBytes: number;
  readonly maxChunkEntries: number;
}): number => {
  const perEntry = Math.max(options.compressedBytesPerEntry, 1e-3);
  const forPartSize = Math.ceil((PART_SIZE_MARGIN * options.minPartBytes) / perEntry);
  const forChunkLimit = Math.ceil(options.totalEntries / MAX_EXPORT_CHUNKS);
  return Math.max(1, forChunkLimit, Math.min(forPartSize, options.maxChunkEntries));
};

/**
 * Cuts [0, snapshotMaxId] into contiguous chunks of about `target` entries each, newest first, from
 * counted spans (ascending, non-overlapping; rollup days or hours). A span holding more than
 * `target` is split into equal id ranges (entries are assumed spread evenly within it); spans are
 * then gathered newest first while the chunk stays within `target`. The chunks cover every id up
 * to the snapshot, so an entry the counters missed is still exported by the chunk around it.
 */
export const planChunks = (
  spans: readonly CountedSpan[],
  snapshotMaxId: number,
  target: number,
): ChunkSpec[] => {
  const pieces: CountedSpan[] = [];
  for (const span of spans) {
    const maxId = Math.min(span.maxId, snapshotMaxId);
    if (span.count <= 0 || span.minId > maxId) continue;
    const parts = Math.ceil(span.count / target);
    const width = (maxId - span.minId + 1) / parts;
    for (let part = 0; part < parts; part += 1) {
      const from = span.minId + Math.floor(part * width);
      const to = part === parts - 1 ? maxId : span.minId + Math.floor((part + 1) * width) - 1;
      if (from <= to) pieces.push({ minId: from, maxId: to, count: span.count / parts });
    }
  }
  // Newest first: each chunk's lower bound is its oldest piece's; the next chunk ends just below.
  const lowerBounds: number[] = [];
  let filled = 0;
  for (let index = pieces.length - 1; index >= 0; index -= 1) {
    const piece = pieces[index];
    if (!piece) continue;
    if (lowerBounds.length === 0 || (filled > 0 && filled + piece.count > target)) {
      lowerBounds.push(piece.minId);
      filled = 0;
    } else {
      lowerBounds[lowerBounds.length - 1] = piece.minId;
    }
    filled += piece.count;
  }
  if (lowerBounds.length === 0) return [{ index: 0, minId: 0, maxId: snapshotMaxId }];
  const chunks: ChunkSpec[] = [];
  let maxId = snapshotMaxId;
  lowerBounds.forEach((lower, index) => {
    const minId = index === lowerBounds.length - 1 ? 0 : lower;
    chunks.push({ index, minId, maxId });
    maxId = minId - 1;
  });
  return chunks;
};
