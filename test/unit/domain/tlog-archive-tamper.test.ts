import { describe, expect, it } from '@jest/globals';
import { idFor } from '../../../lambdas/domain/ids.js';
import { type ArchiveManifest, archiveLine, partKey, sha256Hex } from '../../../lambdas/domain/purge.js';
import { type AuditRecord, hashRecord, sealRecord } from '../../../lambdas/domain/record.js';
import {
  ARCHIVE_PROOF_FORMAT,
  type ArchivePartProof,
  archivePartProof,
  verifyArchive,
} from '../../../lambdas/domain/tlog/archive-proof.js';
import { signCheckpoint } from '../../../lambdas/domain/tlog/checkpoint.js';
import { entryLeafHash } from '../../../lambdas/domain/tlog/entry-leaf.js';
import {
  CompactRange,
  type Hash,
  nodeHash,
  type PerfectNodeReader,
} from '../../../lambdas/domain/tlog/merkle.js';
import { signerFromSeed } from '../../../lambdas/domain/tlog/note.js';
import { signReceipt } from '../../../lambdas/domain/tlog/receipt.js';

/**
 * The tamper suite for purge archives: random trees with a purge job archiving part of them (in
 * parts, each under signed receipts), each archive either left alone (it must verify) or tampered
 * once, anywhere an attacker with bucket access could: a part's entries (with their hashes and the
 * manifest's checksums recomputed), the proof's leaf indexes, cover hashes or receipts. Every
 * tampering must be detected; those of one entry must name it.
 */

const ORIGIN = 'audit-trail.test/acme';
const signer = signerFromSeed('audit-trail.test', new Uint8Array(32).fill(7));
const BASE = Date.UTC(2026, 10, 30);
const JOB = 'pj-900';

const prng = (seed: number) => {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (below: number) => Math.floor(next() * below) };
};
type Random = ReturnType<typeof prng>;

const record = (n: number): AuditRecord =>
  sealRecord('acme', idFor(BASE + n * 7, n % 4), BASE + n * 7, {
    action_type: n % 3 ? 'doc.read' : 'doc.write',
    user: `user-${n % 4}`,
    message: `entry ${n}`,
  });

/** The perfect-subtree reader of a tree held in memory. */
const memoryReader =
  (leaves: readonly Hash[]): PerfectNodeReader =>
  async (level, index) => {
    if (level === 0) return leaves[index] as Hash;
    const read = memoryReader(leaves);
    return nodeHash(await read(level - 1, 2 * index), await read(level - 1, 2 * index + 1));
  };

/** An archive as the service writes it: files by name, as a user downloads them. */
interface Archive {
  manifest: ArchiveManifest;
  parts: Map<string, AuditRecord[]>;
  proof: Record<string, unknown>[];
}

const newArchive = async (random: Random): Promise<Archive> => {
  const size = 4 + random.int(40);
  const records = Array.from({ length: size }, (_, n) => record(n));
  // Sequenced in id order with a neighbour or two swapped.
  const order = [...records];
  for (let swap = random.int(3); swap > 0; swap -= 1) {
    const at = random.int(size - 1);
    [order[at], order[at + 1]] = [order[at + 1] as AuditRecord, order[at] as AuditRecord];
  }
  const leaves = order.map(entryLeafHash);
  const range = CompactRange.empty();
  for (const leaf of leaves) range.append(leaf);
  const checkpoint = await signCheckpoint({ origin: ORIGIN, size, root: range.root(), extensions: [] }, [
    signer,
  ]);
  const purged = 2 + random.int(size - 2);
  const partEntries = 1 + random.int(purged);
  const parts = new Map<string, AuditRecord[]>();
  const lines: Record<string, unknown>[] = [];
  const receipts: string[] = [];
  const manifestParts: ArchiveManifest['parts'][number][] = [];
  for (let start = 0; start < purged; start += partEntries) {
    const slice = records.slice(start, Math.min(purged, start + partEntries));
    const first = slice[0] as AuditRecord;
    const last = slice[slice.length - 1] as AuditRecord;
    const key = partKey(JOB, first.id);
    const body = Buffer.from(`${slice.map(archiveLine).join('\n')}\n`);
    const sha256 = sha256Hex(body);
    parts.set(key, slice);
    manifestParts.push({
      key,
      firstId: first.id,
      lastId: last.id,
      count: slice.length,
      size: body.length,
      sha256,
      created: 0,
    });
    const indexes = slice.map((entry) => order.indexOf(entry));
    lines.push({ ...(await archivePartProof({ key, sha256 }, indexes, size, memoryReader(leaves))) });
    receipts.push(
      await signReceipt(
        {
          origin: ORIGIN,
          jobId: JOB,
          segment: last.id,
          throughId: (records[purged - 1] as AuditRecord).id,
          treeSize: size,
          leaves: slice.map(entryLeafHash),
        },
        [signer],
      ),
    );
  }
  return {
    manifest: { version: 1, tenant: 'acme', jobId: JOB, throughId: 0, created: 0, parts: manifestParts },
    parts,
    proof: [
      {
        format: ARCHIVE_PROOF_FORMAT,
        origin: ORIGIN,
        key: signer.verifier.encoded,
        key_id: '00000000',
        checkpoint,
        tree_size: size,
        tenant: 'acme',
        job_id: JOB,
      },
      ...lines,
      ...receipts.map((receipt) => ({ receipt })),
      { end: { parts: lines.length, receipts: receipts.length } },
    ],
  };
};

/** Verifies the archive as the files are now; the manifest's checksums follow the parts (a thorough attacker). */
const check = (archive: Archive) => {
  const parts = new Map<string, { text: string; sha256: string }>();
  for (const [key, entries] of archive.parts) {
    const text = `${entries.map(archiveLine).join('\n')}\n`;
    parts.set(key, { text, sha256: sha256Hex(Buffer.from(text)) });
  }
  const manifest = {
    ...archive.manifest,
    parts: archive.manifest.parts.map((part) => ({
      ...part,
      sha256: parts.get(part.key)?.sha256 ?? part.sha256,
    })),
  };
  const proof = archive.proof.map((line) =>
    typeof line.part === 'string' ? { ...line, sha256: parts.get(line.part)?.sha256 ?? line.sha256 } : line,
  );
  return verifyArchive({
    manifest: JSON.stringify(manifest),
    parts,
    proof: proof.map((line) => `${JSON.stringify(line)}\n`).join(''),
    trusted: [signer.verifier],
  });
};

const pickPart = (archive: Archive, random: Random): AuditRecord[] => {
  const keys = [...archive.parts.keys()];
  return archive.parts.get(keys[random.int(keys.length)] as string) as AuditRecord[];
};
const reseal = (entry: AuditRecord): AuditRecord => {
  const { hash: _old, ...rest } = entry;
  return { ...rest, hash: hashRecord(rest) };
};
const partLines = (archive: Archive) =>
  archive.proof.filter((line) => typeof line.part === 'string') as unknown as ArchivePartProof[];

type Tamper = (archive: Archive, random: Random) => Promise<{ victim?: number }>;

const TAMPERS: Record<string, Tamper> = {
  'part: modify an entry (hash recomputed)': async (archive, random) => {
    const part = pickPart(archive, random);
    const at = random.int(part.length);
    const victim = part[at] as AuditRecord;
    part[at] = reseal({ ...victim, message: `${victim.message}!` });
    return { victim: victim.id };
  },
  'part: modify an entry (hash left)': async (archive, random) => {
    const part = pickPart(archive, random);
    const at = random.int(part.length);
    const victim = part[at] as AuditRecord;
    part[at] = { ...victim, user: 'someone else' };
    return { victim: victim.id };
  },
  'part: delete an entry': async (archive, random) => {
    const part = pickPart(archive, random);
    part.splice(random.int(part.length), 1);
    return {};
  },
  'part: insert an entry': async (archive, random) => {
    const part = pickPart(archive, random);
    const intruder = record(500);
    part.splice(random.int(part.length + 1), 0, intruder);
    return { victim: intruder.id };
  },
  'part: replay an entry': async (archive, random) => {
    const part = pickPart(archive, random);
    const at = random.int(part.length);
    part.splice(at, 0, part[at] as AuditRecord);
    return {};
  },
  'part: reorder two entries': async (archive, random) => {
    const all = [...archive.parts.values()].flat();
    const a = random.int(all.length);
    const b = (a + 1 + random.int(all.length - 1)) % all.length;
    const [first, second] = [all[a] as AuditRecord, all[b] as AuditRecord];
    for (const part of archive.parts.values())
      for (const [position, entry] of part.entries())
        part[position] = entry === first ? second : entry === second ? first : entry;
    return {};
  },
  'proof: change a leaf index': async (archive, random) => {
    const line = partLines(archive)[random.int(partLines(archive).length)] as ArchivePartProof;
    const indexes = [...line.leaf_indexes];
    const at = random.int(indexes.length);
    indexes[at] = ((indexes[at] as number) + 1) % Number(archive.proof[0]?.tree_size);
    (line as unknown as { leaf_indexes: number[] }).leaf_indexes = indexes;
    return {};
  },
  'proof: modify a cover hash or drop the cover': async (archive, random) => {
    const line = partLines(archive)[random.int(partLines(archive).length)] as ArchivePartProof;
    const cover = line.cover.map((node) => [...node] as [number, number, string]);
    if (cover.length === 0) cover.push([0, 0, Buffer.alloc(32).toString('base64')]);
    else {
      const at = random.int(cover.length);
      const hash = Buffer.from((cover[at] as [number, number, string])[2], 'base64');
      const byte = random.int(32);
      hash[byte] = (hash[byte] ?? 0) ^ (1 << random.int(8));
      (cover[at] as [number, number, string])[2] = hash.toString('base64');
    }
    (line as { cover: unknown }).cover = cover;
    return {};
  },
  'proof: drop a receipt': async (archive, random) => {
    const receipts = archive.proof.flatMap((line, position) =>
      typeof line.receipt === 'string' ? [position] : [],
    );
    archive.proof.splice(receipts[random.int(receipts.length)] as number, 1);
    return {};
  },
  'proof: a forged receipt for an inserted entry': async (archive, random) => {
    const part = pickPart(archive, random);
    const intruder = record(600);
    part.push(intruder);
    const forger = signerFromSeed('audit-trail.test', new Uint8Array(32).fill(9));
    const forged = await signReceipt(
      {
        origin: ORIGIN,
        jobId: JOB,
        segment: intruder.id,
        throughId: intruder.id,
        treeSize: 0,
        leaves: [entryLeafHash(intruder)],
      },
      [forger],
    );
    archive.proof.splice(archive.proof.length - 1, 0, { receipt: forged });
    return { victim: intruder.id };
  },
};

describe('archive tamper suite (bounded sizes)', () => {
  it('verifies every untouched archive', async () => {
    for (let trial = 0; trial < 100; trial += 1) {
      const verdict = await check(await newArchive(prng(20_000 + trial)));
      expect([trial, verdict.problems]).toEqual([trial, []]);
    }
  });

  it('detects every one of 500 random tamperings, naming the entry when one is to blame', async () => {
    const kinds = Object.keys(TAMPERS);
    for (let trial = 0; trial < 500; trial += 1) {
      const random = prng(30_000 + trial);
      const kind = kinds[trial % kinds.length] as string;
      const archive = await newArchive(random);
      const { victim } = await (TAMPERS[kind] as Tamper)(archive, random);
      const verdict = await check(archive);
      expect([trial, kind, verdict.ok]).toEqual([trial, kind, false]);
      if (victim !== undefined) expect([trial, kind, verdict.firstBadEntry]).toEqual([trial, kind, victim]);
    }
  });
});
