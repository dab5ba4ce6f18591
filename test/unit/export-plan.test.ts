import { describe, expect, it } from '@jest/globals';
import {
  type ChunkSpec,
  chunkTargetEntries,
  MAX_EXPORT_CHUNKS,
  planChunks,
} from '../../lambdas/domain/export-plan.js';

/** The chunks cover [0, snapshot] without a gap or overlap, newest first, indexed in order. */
const expectContiguous = (chunks: readonly ChunkSpec[], snapshot: number) => {
  expect(chunks[0]?.maxId).toBe(snapshot);
  expect(chunks[chunks.length - 1]?.minId).toBe(0);
  chunks.forEach((chunk, index) => {
    expect(chunk.index).toBe(index);
    expect(chunk.minId).toBeLessThanOrEqual(chunk.maxId);
    const next = chunks[index + 1];
    if (next) expect(next.maxId).toBe(chunk.minId - 1);
  });
};

describe('Function: planChunks', () => {
  it('gathers counted spans newest first into chunks of at most the target', () => {
    // Prepare: five days of 400 entries, ids 1000 apart.
    const spans = [0, 1, 2, 3, 4].map((day) => ({ minId: day * 1000, maxId: day * 1000 + 999, count: 400 }));
    // Act
    const chunks = planChunks(spans, 4500, 800);
    // Assess
    expectContiguous(chunks, 4500);
    expect(chunks.map((chunk) => [chunk.minId, chunk.maxId])).toEqual([
      [3000, 4500],
      [1000, 2999],
      [0, 999],
    ]);
  });

  it('splits a span bigger than the target into equal id ranges', () => {
    // Act
    const chunks = planChunks([{ minId: 100, maxId: 1099, count: 3000 }], 1099, 1000);
    // Assess
    expectContiguous(chunks, 1099);
    expect(chunks.map((chunk) => [chunk.minId, chunk.maxId])).toEqual([
      [766, 1099],
      [433, 765],
      [0, 432],
    ]);
  });

  it('never plans past the snapshot, and plans one chunk when nothing is counted', () => {
    // Act
    const clipped = planChunks([{ minId: 0, maxId: 9999, count: 5000 }], 4999, 1000);
    const empty = planChunks([], 777, 1000);
    // Assess
    expectContiguous(clipped, 4999);
    expect(clipped.length).toBe(5);
    expect(empty).toEqual([{ index: 0, minId: 0, maxId: 777 }]);
  });
});

describe('Function: chunkTargetEntries', () => {
  it('sizes a chunk for three minimum parts at the sampled compression, within the time bound', () => {
    // Act
    const byBytes = chunkTargetEntries({
      totalEntries: 10_000_000,
      compressedBytesPerEntry: 22,
      minPartBytes: 5 * 1024 * 1024,
      maxChunkEntries: 1_500_000,
    });
    const byTime = chunkTargetEntries({
      totalEntries: 10_000_000,
      compressedBytesPerEntry: 2,
      minPartBytes: 5 * 1024 * 1024,
      maxChunkEntries: 1_500_000,
    });
    // Assess
    expect(byBytes).toBe(Math.ceil((3 * 5 * 1024 * 1024) / 22));
    expect(byTime).toBe(1_500_000);
  });

  it(`never needs more than ${MAX_EXPORT_CHUNKS} chunks`, () => {
    // Act
    const target = chunkTargetEntries({
      totalEntries: 10_000_000_000,
      compressedBytesPerEntry: 22,
      minPartBytes: 5 * 1024 * 1024,
      maxChunkEntries: 1_500_000,
    });
    // Assess
    expect(target).toBe(10_000_000_000 / MAX_EXPORT_CHUNKS);
  });
});
