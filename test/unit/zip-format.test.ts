import { randomBytes } from 'node:crypto';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { crc32Combine } from '../../lambdas/domain/crc32.js';
import {
  centralDirectory,
  completeLocalHeader,
  dataDescriptor,
  deflatePadding,
  streamedLocalHeader,
  type ZipEntryRecord,
} from '../../lambdas/domain/zip-format.js';
import { hasZip64End, readWithAll } from '../helpers/zip-readers.js';

/** A zip built the way a parallel export builds one: header, flushed chunks, final block, end records. */
const parallelZip = (
  parts: readonly Buffer[],
  options: { forceZip64: boolean; padding?: number; trailing?: { name: string; content: Buffer } },
) => {
  const mtime = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));
  const header = streamedLocalHeader('doc.json', mtime);
  const chunks = parts.slice(0, -1).map((part, index) => {
    const flushed = deflateRawSync(part, { finishFlush: constants.Z_FULL_FLUSH });
    return index === 0 && options.padding
      ? Buffer.concat([flushed, deflatePadding(options.padding)])
      : flushed;
  });
  const last = deflateRawSync(parts[parts.length - 1] ?? Buffer.alloc(0));
  let crc = 0;
  let size = 0;
  for (const part of parts) {
    crc = size === 0 ? crc32(part) : crc32Combine(crc, crc32(part), part.length);
    size += part.length;
  }
  const data = Buffer.concat([...chunks, last]);
  const entry: ZipEntryRecord = {
    name: 'doc.json',
    crc32: crc,
    compressedSize: data.length,
    uncompressedSize: size,
    localHeaderOffset: 0,
    mtime,
    method: 8,
    streamed: true,
  };
  const descriptor = dataDescriptor(entry, options.forceZip64);
  const records = [entry];
  const trailing: Buffer[] = [];
  let offset = header.length + data.length + descriptor.length;
  if (options.trailing) {
    const compressed = deflateRawSync(options.trailing.content);
    const record: ZipEntryRecord = {
      name: options.trailing.name,
      crc32: crc32(options.trailing.content),
      compressedSize: compressed.length,
      uncompressedSize: options.trailing.content.length,
      localHeaderOffset: offset,
      mtime,
      method: 8,
      streamed: false,
    };
    const local = completeLocalHeader(record);
    trailing.push(local, compressed);
    records.push(record);
    offset += local.length + compressed.length;
  }
  return Buffer.concat([
    header,
    data,
    descriptor,
    ...trailing,
    centralDirectory(records, offset, options.forceZip64),
  ]);
};

describe('Function: crc32Combine', () => {
  it('gives the CRC-32 of the concatenation, for empty, small and large second parts', () => {
    // Prepare
    const cases = [0, 1, 7, 1000, 70_000].map((length) => [randomBytes(513), randomBytes(length)] as const);
    // Act
    const combined = cases.map(([a, b]) => crc32Combine(crc32(a), crc32(b), b.length));
    // Assess
    expect(combined).toEqual(cases.map(([a, b]) => crc32(Buffer.concat([a, b]))));
  });

  it('combines lengths beyond 32 bits', () => {
    // Prepare: x^(8·2^32) applied twice as 2^31 bytes must equal applying 2^32 bytes once.
    const a = crc32(Buffer.from('audit'));
    const zeros = 0; // crc32 of the empty string, as the second part's own CRC
    // Act
    const once = crc32Combine(a, zeros, 2 ** 32);
    const twice = crc32Combine(crc32Combine(a, zeros, 2 ** 31), zeros, 2 ** 31);
    // Assess
    expect(once).toBe(twice);
    expect(once).not.toBe(a);
  });
});

describe('zip records of a parallel export', () => {
  const parts = [
    Buffer.from('{"audit_trail":[\n{"id":3}'),
    Buffer.from(',\n{"id":2}'),
    Buffer.alloc(0),
    Buffer.from(',\n{"id":1}'),
    Buffer.from('\n]}\n'),
  ];
  const text = Buffer.concat(parts).toString('utf8');

  it.each([
    ['classic', false],
    ['forced ZIP64', true],
  ])('concatenated flushed chunks make one zip every reader accepts (%s)', async (_label, forceZip64) => {
    // Act
    const zip = parallelZip(parts, { forceZip64 });
    const readings = await readWithAll(zip, 'doc.json');
    // Assess
    expect(hasZip64End(zip)).toBe(forceZip64);
    for (const reading of Object.values(readings)) {
      expect(reading.ok).toBe(true);
      expect(reading.names).toEqual(['doc.json']);
      expect(reading.files['doc.json']).toBe(text);
    }
  });

  it('inflates padding of empty stored blocks to nothing', async () => {
    // Act
    const zip = parallelZip(parts, { forceZip64: false, padding: 64 * 1024 });
    const readings = await readWithAll(zip, 'doc.json');
    // Assess
    expect(zip.length).toBeGreaterThan(64 * 1024);
    for (const reading of Object.values(readings)) expect(reading.files['doc.json']).toBe(text);
  });

  it('takes a trailing file after the document (the seam for later files)', async () => {
    // Act
    const zip = parallelZip(parts, {
      forceZip64: true,
      trailing: { name: 'checkpoint.txt', content: Buffer.from('tree head\n') },
    });
    const readings = await readWithAll(zip, 'doc.json');
    // Assess
    for (const reading of [readings.python, readings.yauzl]) {
      expect(reading.ok).toBe(true);
      expect(reading.names).toEqual(['doc.json', 'checkpoint.txt']);
      expect(reading.files['checkpoint.txt']).toBe('tree head\n');
    }
    expect(readings.unzip.ok).toBe(true);
    expect(readings.unzip.names).toEqual(['doc.json', 'checkpoint.txt']);
  });
});
