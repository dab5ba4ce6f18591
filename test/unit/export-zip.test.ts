import { PassThrough } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { EXPORT_JSON_NAME, type TrailingFiles } from '../../lambdas/domain/export.js';
import { ID_EPOCH_MS, idFor } from '../../lambdas/domain/ids.js';
import { type AuditRecord, sealRecord } from '../../lambdas/domain/record.js';
import {
  centralDirectory,
  dataDescriptor,
  streamedLocalHeader,
  type ZipEntryRecord,
} from '../../lambdas/domain/zip-format.js';
import type { EventStore, PageQuery } from '../../lambdas/ports/event-store.js';
import type { ExportUpload } from '../../lambdas/ports/export-store.js';
import { ExportBudgetExceeded, exportZip } from '../../lambdas/use-cases/export-zip.js';
import { DEFLATE_LEVEL } from '../../lambdas/use-cases/parallel-export.js';
import { inspectZip } from '../helpers/zip.js';

/** An in-memory event store over `count` entries of one tenant. */
const storeOf = (count: number, onQuery: () => void = () => undefined): EventStore => {
  const records: AuditRecord[] = Array.from({ length: count }, (_, index) => {
    const timestamp = ID_EPOCH_MS + 1_000_000 + index;
    return sealRecord('acme', idFor(timestamp, 0), timestamp, {
      action_type: 'user_login',
      message: `n${index}`,
    });
  });
  return {
    append: async () => [],
    queryPage: async (query: PageQuery) => {
      onQuery();
      const page = records
        .filter((record) => record.id >= query.minId && record.id <= query.maxId)
        .sort((a, b) => (query.newestFirst ? b.id - a.id : a.id - b.id))
        .slice(0, query.limit);
      return { records: page, itemsRead: page.length, capacityUnits: 0 };
    },
    countEntries: async () => {
      throw new Error('an export never counts entries');
    },
    reserveIds: async () => {
      throw new Error('an export never writes entries');
    },
  };
};

/** An upload that keeps what it is sent, or fails when told to. */
const memoryUpload = (fail?: Error) => {
  const chunks: Buffer[] = [];
  let cancelled = false;
  const stream = new PassThrough();
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (fail) stream.destroy(fail);
    });
    // As lib-storage does, the reader of the body observes its errors (and settles on close).
    stream.on('error', () => undefined);
    stream.on('end', () => resolve());
    stream.on('close', () => {
      if (!stream.readableEnded) {
        cancelled = true;
        reject(fail ?? new Error('cancelled'));
      }
    });
  });
  const upload: ExportUpload = { stream, done };
  return { upload, bytes: () => Buffer.concat(chunks), cancelled: () => cancelled };
};

describe('exportZip', () => {
  it('adds trailing files after the document once its snapshot is known (the seam for later files)', async () => {
    // Prepare
    const seen: unknown[] = [];

    // Act
    const result = await exportZip({
      events: storeOf(600),
      tenant: 'acme',
      clock: Date.now,
      deadline: Date.now() + 60_000,
      inlineMaxBytes: 10_000_000,
      startUpload: () => memoryUpload().upload,
      trailingFiles: Object.assign(
        async ({ exported, ...contents }: Parameters<TrailingFiles>[0]) => {
          seen.push(contents);
          if (!exported) throw new Error('the exported entries were not kept aside');
          // A streamed file: the lines kept of the exported entries, read back from the export's
          // spill as they were written, newest first.
          async function* ids(): AsyncGenerator<Uint8Array> {
            yield Buffer.from(`up to ${contents.snapshotMaxId}\n`);
            for await (const lines of exported?.() ?? []) yield Buffer.from(`${lines.join('\n')}\n`);
          }
          return [{ name: 'checkpoint.txt', content: ids() }];
        },
        { keep: (entry: AuditRecord) => String(entry.id) },
      ),
    });

    // Assess
    expect(result.kind).toBe('inline');
    if (result.kind !== 'inline') return;
    expect(seen).toEqual([{ tenant: 'acme', snapshotMaxId: result.snapshotMaxId, entries: 600 }]);
    const zip = inspectZip(result.zip, 'checkpoint.txt');
    expect(zip.testOk).toBe(true);
    expect(zip.names).toEqual(['canary_audit_trail.json', 'checkpoint.txt']);
    const [first, ...ids] = zip.text.trimEnd().split('\n');
    expect(first).toBe(`up to ${result.snapshotMaxId}`);
    const documentIds = (
      JSON.parse(inspectZip(result.zip, 'canary_audit_trail.json').text) as { audit_trail: { id: number }[] }
    ).audit_trail.map((entry) => String(entry.id));
    expect(ids).toEqual(documentIds);
  });

  it('keeps a small zip in memory and moves a larger one to the upload, byte for byte the same zip', async () => {
    // Prepare
    const target = memoryUpload();
    const common = { events: storeOf(2500), tenant: 'acme', clock: Date.now, deadline: Date.now() + 60_000 };

    // Act
    const inline = await exportZip({
      ...common,
      inlineMaxBytes: 10_000_000,
      startUpload: () => target.upload,
    });
    const stored = await exportZip({ ...common, inlineMaxBytes: 100, startUpload: () => target.upload });

    // Assess
    expect(inline.kind).toBe('inline');
    expect(stored).toMatchObject({ kind: 'stored', entries: 2500 });
    const text = inspectZip(target.bytes(), 'canary_audit_trail.json').text;
    const ids = (JSON.parse(text) as { audit_trail: { id: number }[] }).audit_trail.map((entry) => entry.id);
    expect(ids).toHaveLength(2500);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(stored.snapshotMaxId).toBe(ids[0]);
    if (inline.kind === 'inline') expect(inspectZip(inline.zip, 'canary_audit_trail.json').text).toBe(text);
  });

  it('writes the records the parallel export writes: header, deflated document, data descriptor, central directory', async () => {
    // Prepare
    const now = ID_EPOCH_MS + 5_000_000;

    // Act
    const result = await exportZip({
      events: storeOf(1200),
      tenant: 'acme',
      clock: () => now,
      deadline: now + 60_000,
      inlineMaxBytes: 10_000_000,
      startUpload: () => memoryUpload().upload,
    });

    // Assess: byte for byte the zip that lambdas/domain/zip-format.ts describes for the document.
    if (result.kind !== 'inline') throw new Error('expected an in-memory zip');
    const text = Buffer.from(inspectZip(result.zip, EXPORT_JSON_NAME).text, 'utf8');
    const deflated = deflateRawSync(text, { level: DEFLATE_LEVEL });
    const mtime = new Date(now);
    const header = streamedLocalHeader(EXPORT_JSON_NAME, mtime);
    const entry: ZipEntryRecord = {
      name: EXPORT_JSON_NAME,
      crc32: crc32(text),
      compressedSize: deflated.length,
      uncompressedSize: text.length,
      localHeaderOffset: 0,
      mtime,
      method: 8,
      streamed: true,
    };
    const descriptor = dataDescriptor(entry, false);
    const expected = Buffer.concat([
      header,
      deflated,
      descriptor,
      centralDirectory([entry], header.length + deflated.length + descriptor.length, false),
    ]);
    expect(result.zip.equals(expected)).toBe(true);
  });

  it('gives up early when its own pace projects a finish past the deadline, cancelling the upload', async () => {
    // Prepare: every query takes 600 ms of the fake clock; 5000 entries would need 3 s of a 2 s budget.
    let now = 0;
    const target = memoryUpload();

    // Act
    const attempt = exportZip({
      events: storeOf(5000, () => {
        now += 600;
      }),
      tenant: 'acme',
      inlineMaxBytes: -1,
      startUpload: () => target.upload,
      clock: () => now,
      deadline: 2000,
      expectedEntries: 5000,
    });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ExportBudgetExceeded);
    expect(now).toBeLessThan(2000);
    expect(target.cancelled()).toBe(true);
  });

  it('fails with the upload error and stops reading when the upload fails', async () => {
    // Prepare
    let queries = 0;
    const target = memoryUpload(Object.assign(new Error('S3 down'), { name: 'ServiceUnavailableError' }));

    // Act
    const attempt = exportZip({
      events: storeOf(20_000, () => {
        queries += 1;
      }),
      tenant: 'acme',
      inlineMaxBytes: -1,
      startUpload: () => target.upload,
      clock: Date.now,
      deadline: Date.now() + 60_000,
    });

    // Assess
    await expect(attempt).rejects.toThrow('S3 down');
    expect(queries).toBeLessThan(20);
  });
});
