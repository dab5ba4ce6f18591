import { describe, expect, it } from '@jest/globals';
import { toCanaryEntry } from '../../lambdas/domain/canary-view.js';
import type { ZipTrailingFile } from '../../lambdas/domain/export.js';
import { idFor } from '../../lambdas/domain/ids.js';
import { type AuditRecord, sealRecord } from '../../lambdas/domain/record.js';
import { signCheckpoint } from '../../lambdas/domain/tlog/checkpoint.js';
import { entryLeafHash } from '../../lambdas/domain/tlog/entry-leaf.js';
import { CompactRange, type Hash } from '../../lambdas/domain/tlog/merkle.js';
import { signerFromSeed } from '../../lambdas/domain/tlog/note.js';
import {
  proofEntryLine,
  TLOG_PROOF_FILE,
  verifyDownload,
  writeProofFile,
} from '../../lambdas/domain/tlog/proof-file.js';
import { TILE_WIDTH } from '../../lambdas/domain/tlog/tiles.js';
import type { EventStore, PageQuery } from '../../lambdas/ports/event-store.js';
import type { StoredCheckpoint, TlogReader } from '../../lambdas/ports/tlog.js';
import { exportZip } from '../../lambdas/use-cases/export-zip.js';
import { tlogTrailingFiles } from '../../lambdas/use-cases/tlog-export-files.js';
import { inspectZip } from '../helpers/zip.js';

const signer = signerFromSeed('audit-trail.test', new Uint8Array(32).fill(3));
const BASE = Date.UTC(2026, 10, 30);
const record = (n: number): AuditRecord =>
  sealRecord('acme', idFor(BASE + n * 3, 0), BASE + n * 3, {
    action_type: 'doc.read',
    message: `entry ${n}`,
  });

/** A tenant of `size` entries, all sequenced in id order, its checkpoint covering the first `covered`. */
const tenantOf = async (size: number, covered: number) => {
  const records = Array.from({ length: size }, (_, n) => record(n));
  const leaves = records.map(entryLeafHash);
  const range = CompactRange.empty();
  for (const leaf of leaves.slice(0, covered)) range.append(leaf);
  const note = await signCheckpoint(
    { origin: 'audit-trail.test/acme', size: covered, root: range.root(), extensions: [] },
    [signer],
  );
  const calls = { pages: 0, tiles: 0, checkpoints: 0 };
  const reader: TlogReader = {
    head: async () => undefined,
    tiles: () => async (_level, index) => {
      calls.tiles += 1;
      return Buffer.concat(leaves.slice(index * TILE_WIDTH, (index + 1) * TILE_WIDTH) as Hash[]);
    },
    leafIndexOf: async (_tenant, id) => {
      const index = records.findIndex((entry) => entry.id === id);
      return index < 0 ? undefined : index;
    },
    leafIndexesOf: async () => new Map(),
    latestCheckpoint: async (): Promise<StoredCheckpoint> => {
      calls.checkpoints += 1;
      return { size: covered, note };
    },
    receipts: async function* () {},
  };
  const events = {
    queryPage: async (query: PageQuery) => {
      calls.pages += 1;
      const page = records
        .filter((entry) => entry.id >= query.minId && entry.id <= query.maxId)
        .sort((a, b) => (query.newestFirst ? b.id - a.id : a.id - b.id))
        .slice(0, query.limit);
      return { records: page, itemsRead: page.length, capacityUnits: 0 };
    },
  };
  return { records, reader, events, calls };
};

const collect = async (file: ZipTrailingFile): Promise<string> => {
  if (Buffer.isBuffer(file.content)) return file.content.toString('utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of file.content) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
};

const documentOf = (records: readonly AuditRecord[]) =>
  JSON.stringify({ audit_trail: [...records].reverse().map((entry) => toCanaryEntry(entry)) });

describe('the download proof file (use-cases/tlog-export-files.ts)', () => {
  it('is a stream read as it is consumed: a tile and a page ahead at most, never the whole tenant', async () => {
    const { records, reader, events, calls } = await tenantOf(3000, 3000);
    let now = 0;
    const files = await tlogTrailingFiles({
      reader,
      events,
      verifier: async () => signer.verifier,
      origin: 'audit-trail.test',
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      waitMs: 1000,
    })({ tenant: 'acme', snapshotMaxId: (records[records.length - 1] as AuditRecord).id, entries: 3000 });
    const [file] = files;
    if (!file || Buffer.isBuffer(file.content)) throw new Error('expected a streamed proof file');
    // Nothing is read before the zip asks for the file's first chunk.
    expect([calls.tiles, calls.pages]).toEqual([0, 0]);
    const iterator = file.content[Symbol.asyncIterator]();
    for (let chunk = 0; chunk < 3; chunk += 1) await iterator.next();
    // Header and two tiles' lines: the next tile read ahead, no entry page yet.
    expect(calls.tiles).toBeLessThanOrEqual(3);
    expect(calls.pages).toBe(0);
    await iterator.return?.(undefined);
  });

  it('writes a file the verifier accepts, without waiting when the checkpoint covers the newest entry', async () => {
    const { records, reader, events, calls } = await tenantOf(700, 700);
    let now = 0;
    const files = await tlogTrailingFiles({
      reader,
      events,
      verifier: async () => signer.verifier,
      origin: 'audit-trail.test',
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      waitMs: 1000,
    })({ tenant: 'acme', snapshotMaxId: (records[699] as AuditRecord).id, entries: 700 });
    expect(now).toBe(0);
    expect(calls.checkpoints).toBe(1);
    const verdict = verifyDownload({
      document: documentOf(records),
      proof: await collect(files[0] as ZipTrailingFile),
      trusted: [signer.verifier],
    });
    expect(verdict.problems).toEqual([]);
    expect(verdict.ok).toBe(true);
  });

  it('waits at most TLOG_EXPORT_WAIT_MS for a lagging sequencer, then names the entries not covered', async () => {
    const { records, reader, events } = await tenantOf(300, 290);
    let now = 0;
    const files = await tlogTrailingFiles({
      reader,
      events,
      verifier: async () => signer.verifier,
      origin: 'audit-trail.test',
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
      waitMs: 1000,
    })({ tenant: 'acme', snapshotMaxId: (records[299] as AuditRecord).id, entries: 300 });
    expect(now).toBeGreaterThanOrEqual(1000);
    expect(now).toBeLessThan(1200);
    const verdict = verifyDownload({
      document: documentOf(records),
      proof: await collect(files[0] as ZipTrailingFile),
      trusted: [signer.verifier],
    });
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBadEntry).toBe((records[299] as AuditRecord).id);
    expect(verdict.problems).toHaveLength(10);
    expect(verdict.problems[0]).toContain('written after the checkpoint');
  });

  it('from the lines an export kept aside writes the lines it writes from the store, and they verify', async () => {
    const { records, reader, events } = await tenantOf(700, 700);
    const trailing = tlogTrailingFiles({
      reader,
      events,
      verifier: async () => signer.verifier,
      origin: 'audit-trail.test',
      clock: () => 0,
      waitMs: 0,
    });
    const unused = async (): Promise<never> => {
      throw new Error('an export only reads pages');
    };
    const store: EventStore = { ...events, append: unused, countEntries: unused, reserveIds: unused };
    const result = await exportZip({
      events: store,
      tenant: 'acme',
      clock: Date.now,
      deadline: Date.now() + 60_000,
      inlineMaxBytes: 10_000_000,
      startUpload: () => {
        throw new Error('the zip stays inline');
      },
      trailingFiles: trailing,
    });
    if (result.kind !== 'inline') throw new Error('expected an inline zip');
    const newest = records[699] as AuditRecord;
    expect([result.entries, result.snapshotMaxId]).toEqual([700, newest.id]);
    const kept = inspectZip(result.zip, TLOG_PROOF_FILE).text;
    const fromStore = await collect(
      (await trailing({ tenant: 'acme', snapshotMaxId: newest.id, entries: 700 }))[0] as ZipTrailingFile,
    );
    // The same lines (the kept ones in the document's order, newest first; the store's oldest first).
    const lines = (text: string) => text.split('\n');
    expect(lines(kept).sort()).toEqual(lines(fromStore).sort());
    expect(lines(kept)).not.toEqual(lines(fromStore));
    expect(lines(kept).find((line) => line.startsWith('{"entry":'))).toBe(proofEntryLine(newest));
    expect(lines(kept).at(-2)).toBe('{"end":{"leaves":700,"entries":700,"receipts":0}}');
    const verdict = verifyDownload({
      document: inspectZip(result.zip, 'canary_audit_trail.json').text,
      proof: kept,
      trusted: [signer.verifier],
    });
    expect(verdict.problems).toEqual([]);
    expect(verdict.ok).toBe(true);
  });
});

describe('writeProofFile with pages of written entry lines', () => {
  it('writes a page of lines as it is, and counts its entries with the others', async () => {
    const records = Array.from({ length: 3 }, (_, n) => record(n));
    const range = CompactRange.empty();
    for (const entry of records) range.append(entryLeafHash(entry));
    const checkpoint = await signCheckpoint(
      { origin: 'audit-trail.test/acme', size: 3, root: range.root(), extensions: [] },
      [signer],
    );
    const chunks: Buffer[] = [];
    for await (const chunk of writeProofFile({
      origin: 'audit-trail.test/acme',
      verifier: signer.verifier,
      checkpoint,
      treeSize: 3,
      snapshotMaxId: (records[2] as AuditRecord).id,
      leaves: (async function* () {
        yield Buffer.concat(records.map(entryLeafHash) as Hash[]);
      })(),
      entries: (async function* () {
        yield [proofEntryLine(records[2] as AuditRecord), proofEntryLine(records[1] as AuditRecord)];
        yield [records[0] as AuditRecord];
      })(),
      receipts: (async function* () {})(),
    }))
      chunks.push(chunk);

    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(lines.slice(2, 5)).toEqual([2, 1, 0].map((n) => proofEntryLine(records[n] as AuditRecord)));
    expect(lines.at(-1)).toBe('{"end":{"leaves":3,"entries":3,"receipts":0}}');
    const document = JSON.stringify({
      audit_trail: [...records].reverse().map((entry) => toCanaryEntry(entry)),
    });
    expect(verifyDownload({ document, proof: `${lines.join('\n')}\n`, trusted: [signer.verifier] }).ok).toBe(
      true,
    );
  });
});
