import { describe, expect, it } from '@jest/globals';
import { toCanaryEntry } from '../../../lambdas/domain/canary-view.js';
import { idFor } from '../../../lambdas/domain/ids.js';
import { type AuditRecord, sealRecord } from '../../../lambdas/domain/record.js';
import { signCheckpoint } from '../../../lambdas/domain/tlog/checkpoint.js';
import { entryLeafHash } from '../../../lambdas/domain/tlog/entry-leaf.js';
import { CompactRange, type Hash } from '../../../lambdas/domain/tlog/merkle.js';
import { signerFromSeed } from '../../../lambdas/domain/tlog/note.js';
import { verifyDownload, writeProofFile } from '../../../lambdas/domain/tlog/proof-file.js';
import { signReceipt } from '../../../lambdas/domain/tlog/receipt.js';

/**
 * The tamper suite: random logs (some with purged entries under signed receipts), each either left
 * alone (it must verify) or tampered once, anywhere an attacker with storage access could: the
 * table's entries, the tree's stored leaves, the zip's document or its proof file, or a forked
 * history signed after an earlier checkpoint. Every tampering must be detected and named.
 */

const ORIGIN = 'audit-trail.test/acme';
const signer = signerFromSeed('audit-trail.test', new Uint8Array(32).fill(7));
const BASE = Date.UTC(2026, 10, 30);

/** A small deterministic PRNG (mulberry32), so a failing trial can be replayed by its number. */
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

const record = (n: number, salt = ''): AuditRecord =>
  sealRecord('acme', idFor(BASE + n * 7, n % 4), BASE + n * 7, {
    action_type: n % 3 ? 'doc.read' : 'doc.write',
    user: `user-${n % 4}`,
    message: `entry ${n}${salt}`,
    ...(n % 2 ? { additional_information: { n, tags: ['a', 'b'] } } : {}),
  });

/** A log as the service keeps it, and what a download of it is. */
interface World {
  leaves: Hash[];
  table: AuditRecord[];
  checkpoint: string;
  receipts: string[];
  /** A checkpoint of a prefix of the tree, as a user kept it earlier. */
  earlier: string;
}

const signTree = async (leaves: readonly Hash[]): Promise<string> => {
  const range = CompactRange.empty();
  for (const leaf of leaves) range.append(leaf);
  return signCheckpoint({ origin: ORIGIN, size: leaves.length, root: range.root(), extensions: [] }, [
    signer,
  ]);
};

const newWorld = async (random: Random): Promise<World> => {
  const size = 3 + random.int(30);
  const records = Array.from({ length: size }, (_, n) => record(n));
  // Stream order: id order with a few neighbours swapped (two shards, a back-dated import).
  const order = [...records];
  for (let swap = random.int(3); swap > 0; swap -= 1) {
    const at = random.int(size - 1);
    [order[at], order[at + 1]] = [order[at + 1] as AuditRecord, order[at] as AuditRecord];
  }
  const leaves = order.map(entryLeafHash);
  const purged = random.next() < 0.4 ? random.int(size - 2) : 0;
  const byId = [...records].sort((a, b) => a.id - b.id);
  const gone = new Set(byId.slice(0, purged).map((entry) => entry.id));
  const receipts =
    purged > 0
      ? [
          await signReceipt(
            {
              origin: ORIGIN,
              jobId: 'prg_1',
              segment: (byId[purged - 1] as AuditRecord).id,
              throughId: (byId[purged - 1] as AuditRecord).id,
              treeSize: size,
              leaves: byId.slice(0, purged).map(entryLeafHash),
            },
            [signer],
          ),
        ]
      : [];
  return {
    leaves,
    table: records.filter((entry) => !gone.has(entry.id)),
    checkpoint: await signTree(leaves),
    receipts,
    earlier: await signTree(leaves.slice(0, 1 + random.int(size))),
  };
};

/** A download: the document and its proof file's lines (as parsed JSON values, to tamper with). */
interface Zip {
  document: string;
  proof: Record<string, unknown>[];
}

async function* once<T>(value: T): AsyncGenerator<T> {
  yield value;
}

/** A download of the world as the service builds it: the document and its streamed proof file. */
const download = async (world: World): Promise<Zip> => {
  const newestFirst = [...world.table].sort((a, b) => b.id - a.id);
  const chunks: Buffer[] = [];
  const leaves = Buffer.concat(world.leaves);
  // The service reads the tree a tile at a time: runs of up to 256 leaves; here of 7, to cross lines.
  async function* runs(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < leaves.length; at += 7 * 32) yield leaves.subarray(at, at + 7 * 32);
  }
  const ascending = [...world.table].sort((a, b) => a.id - b.id);
  async function* pages(): AsyncGenerator<readonly AuditRecord[]> {
    for (let at = 0; at < ascending.length; at += 5) yield ascending.slice(at, at + 5);
  }
  for await (const chunk of writeProofFile({
    origin: ORIGIN,
    verifier: signer.verifier,
    checkpoint: world.checkpoint,
    treeSize: world.leaves.length,
    snapshotMaxId: newestFirst[0]?.id ?? 0,
    leaves: runs(),
    entries: pages(),
    receipts: once(world.receipts),
  }))
    chunks.push(chunk);
  return {
    document: JSON.stringify({ audit_trail: newestFirst.map((entry) => toCanaryEntry(entry)) }),
    proof: Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
};

const check = (zip: Zip, earlier: string[] = []) =>
  verifyDownload({
    document: zip.document,
    proof: zip.proof.map((line) => `${JSON.stringify(line)}\n`).join(''),
    trusted: [signer.verifier],
    earlier,
  });

/** The proof file's entry lines' positions. */
const entryLines = (zip: Zip): number[] =>
  zip.proof.flatMap((line, position) => ('entry' in line ? [position] : []));

const pick = <T>(random: Random, items: readonly T[]): T => items[random.int(items.length)] as T;

/** One tampering: what it changed, applied to a fresh world; returns the download to verify. */
type Tamper = (world: World, random: Random) => Promise<{ zip: Zip; earlier?: string[]; victim?: number }>;

const TAMPERS: Record<string, Tamper> = {
  // ---- the events table (the service builds the download from what it finds) ----
  'table: modify an entry': async (world, random) => {
    const at = random.int(world.table.length);
    const victim = world.table[at] as AuditRecord;
    world.table[at] = { ...victim, message: `${victim.message}!` };
    return { zip: await download(world), victim: victim.id };
  },
  'table: delete an entry': async (world, random) => {
    world.table.splice(random.int(world.table.length), 1);
    return { zip: await download(world) };
  },
  'table: insert an entry outside the log': async (world) => {
    const intruder = record(500);
    world.table.push(intruder);
    return { zip: await download(world), victim: intruder.id };
  },
  'table: swap two entries’ ids (reorder)': async (world, random) => {
    const a = random.int(world.table.length);
    const b = (a + 1 + random.int(world.table.length - 1)) % world.table.length;
    const [first, second] = [world.table[a] as AuditRecord, world.table[b] as AuditRecord];
    world.table[a] = { ...first, id: second.id };
    world.table[b] = { ...second, id: first.id };
    return { zip: await download(world) };
  },
  'table: replay an entry (put again, sequenced again)': async (world, random) => {
    const victim = pick(random, world.table);
    world.leaves.push(entryLeafHash(victim));
    world.checkpoint = await signTree(world.leaves);
    return { zip: await download(world), victim: victim.id };
  },
  // ---- the tree's storage (the checkpoint stays what was signed) ----
  'tree: modify a leaf': async (world, random) => {
    const at = random.int(world.leaves.length);
    const leaf = new Uint8Array(world.leaves[at] as Hash);
    const byte = random.int(32);
    leaf[byte] = (leaf[byte] ?? 0) ^ (1 << random.int(8));
    world.leaves[at] = leaf;
    return { zip: await download(world) };
  },
  'tree: delete a leaf': async (world, random) => {
    world.leaves.splice(random.int(world.leaves.length), 1);
    return { zip: await download(world) };
  },
  'tree: insert a leaf': async (world, random) => {
    world.leaves.splice(random.int(world.leaves.length + 1), 0, entryLeafHash(record(900)));
    return { zip: await download(world) };
  },
  'tree: reorder two leaves': async (world, random) => {
    const at = random.int(world.leaves.length - 1);
    [world.leaves[at], world.leaves[at + 1]] = [world.leaves[at + 1] as Hash, world.leaves[at] as Hash];
    return { zip: await download(world) };
  },
  'tree: replay a leaf': async (world, random) => {
    // Another leaf's hash written over this one (never itself: that would change nothing).
    const at = random.int(world.leaves.length);
    const from = (at + 1 + random.int(world.leaves.length - 1)) % world.leaves.length;
    world.leaves[at] = world.leaves[from] as Hash;
    return { zip: await download(world) };
  },
  // ---- the zip: its document ----
  'zip document: modify one byte of an entry': async (world, random) => {
    const zip = await download(world);
    const parsed = JSON.parse(zip.document) as { audit_trail: { id: number; message: string }[] };
    const victim = pick(random, parsed.audit_trail);
    victim.message = victim.message.replace(/.$/, (last) => String.fromCharCode(last.charCodeAt(0) ^ 1));
    return { zip: { ...zip, document: JSON.stringify(parsed) }, victim: victim.id };
  },
  'zip document: delete an entry': async (world, random) => {
    const zip = await download(world);
    const parsed = JSON.parse(zip.document) as { audit_trail: unknown[] };
    parsed.audit_trail.splice(random.int(parsed.audit_trail.length), 1);
    return { zip: { ...zip, document: JSON.stringify(parsed) } };
  },
  'zip document: insert an entry': async (world, random) => {
    const zip = await download(world);
    const parsed = JSON.parse(zip.document) as { audit_trail: unknown[] };
    const intruder = toCanaryEntry(record(700));
    parsed.audit_trail.splice(random.int(parsed.audit_trail.length + 1), 0, intruder);
    return { zip: { ...zip, document: JSON.stringify(parsed) }, victim: intruder.id };
  },
  'zip document: reorder two entries': async (world, random) => {
    const zip = await download(world);
    const parsed = JSON.parse(zip.document) as { audit_trail: unknown[] };
    if (parsed.audit_trail.length < 2) parsed.audit_trail.push(parsed.audit_trail[0]);
    const at = random.int(parsed.audit_trail.length - 1);
    [parsed.audit_trail[at], parsed.audit_trail[at + 1]] = [
      parsed.audit_trail[at + 1],
      parsed.audit_trail[at],
    ];
    return { zip: { ...zip, document: JSON.stringify(parsed) } };
  },
  'zip document: replay an entry': async (world, random) => {
    const zip = await download(world);
    const parsed = JSON.parse(zip.document) as { audit_trail: unknown[] };
    const at = random.int(parsed.audit_trail.length);
    parsed.audit_trail.splice(at, 0, parsed.audit_trail[at]);
    return { zip: { ...zip, document: JSON.stringify(parsed) } };
  },
  // ---- the zip: its proof file ----
  'zip proof: modify an entry’s logged form': async (world, random) => {
    const zip = await download(world);
    const at = pick(random, entryLines(zip));
    const entry = { ...(zip.proof[at]?.entry as AuditRecord) };
    zip.proof[at] = { entry: { ...entry, message: `${entry.message}`.replace('entry ', 'Entry ') } };
    return { zip, victim: entry.id };
  },
  'zip proof: delete an entry': async (world, random) => {
    const zip = await download(world);
    zip.proof.splice(pick(random, entryLines(zip)), 1);
    return { zip };
  },
  'zip proof: insert an entry': async (world, random) => {
    const zip = await download(world);
    const intruder = record(800);
    const { hash: _hash, ...logged } = intruder;
    zip.proof.splice(pick(random, entryLines(zip)), 0, { entry: logged });
    return { zip, victim: intruder.id };
  },
  'zip proof: reorder two leaves': async (world, random) => {
    const zip = await download(world);
    const lines = zip.proof.flatMap((line, position) => (typeof line.leaves === 'string' ? [position] : []));
    const blob = Buffer.concat(
      lines.map((position) => Buffer.from(String(zip.proof[position]?.leaves), 'base64')),
    );
    const at = random.int(world.leaves.length - 1);
    const first = Buffer.from(blob.subarray(at * 32, at * 32 + 32));
    blob.copy(blob, at * 32, (at + 1) * 32, (at + 2) * 32);
    first.copy(blob, (at + 1) * 32);
    zip.proof.splice(lines[0] as number, lines.length, { leaves: blob.toString('base64') });
    return { zip };
  },
  'zip proof: replay an entry': async (world, random) => {
    const zip = await download(world);
    const at = pick(random, entryLines(zip));
    zip.proof.splice(at, 0, zip.proof[at] as Record<string, unknown>);
    return { zip };
  },
  'zip proof: truncate the file': async (world, random) => {
    const zip = await download(world);
    zip.proof.splice(1 + random.int(zip.proof.length - 1));
    return { zip };
  },
  // ---- the purge receipts ----
  'receipt: a forged receipt covering a deleted entry': async (world, random) => {
    const victim = world.table.splice(random.int(world.table.length), 1)[0] as AuditRecord;
    const forger = signerFromSeed('audit-trail.test', new Uint8Array(32).fill(9));
    const zip = await download(world);
    const forged = await signReceipt(
      {
        origin: ORIGIN,
        jobId: 'prg_x',
        segment: victim.id,
        throughId: victim.id,
        treeSize: 0,
        leaves: [entryLeafHash(victim)],
      },
      [forger],
    );
    zip.proof.splice(zip.proof.length - 1, 0, { receipt: forged });
    return { zip };
  },
  'receipt: a receipt for an entry that is still there': async (world, random) => {
    const victim = pick(random, world.table);
    world.receipts.push(
      await signReceipt(
        {
          origin: ORIGIN,
          jobId: 'prg_2',
          segment: victim.id,
          throughId: victim.id,
          treeSize: 0,
          leaves: [entryLeafHash(victim)],
        },
        [signer],
      ),
    );
    return { zip: await download(world), victim: victim.id };
  },
  // ---- a forked history: rewritten before an earlier checkpoint, then signed again ----
  'fork: history rewritten between two checkpoints': async (world, random) => {
    const earlierSize = Number(world.earlier.split('\n')[1]);
    const at = random.int(earlierSize);
    const victim = world.table.find((entry) => sameLeaf(entryLeafHash(entry), world.leaves[at] as Hash));
    // The forger rewrites leaf `at` (an entry, or a purged one) and signs the new history.
    const forged = victim ? { ...victim, message: `${victim.message} (rewritten)` } : record(600);
    if (victim) world.table[world.table.indexOf(victim)] = forged;
    else world.table.push(forged);
    world.leaves[at] = entryLeafHash(forged);
    world.checkpoint = await signTree(world.leaves);
    return { zip: await download(world), earlier: [world.earlier] };
  },
};

const sameLeaf = (a: Hash, b: Hash) => Buffer.from(a).equals(Buffer.from(b));

describe('tamper suite (bounded sizes)', () => {
  it('verifies every untouched download, purged entries included', async () => {
    for (let trial = 0; trial < 200; trial += 1) {
      const world = await newWorld(prng(10_000 + trial));
      const verdict = check(await download(world), [world.earlier]);
      expect([trial, verdict.problems]).toEqual([trial, []]);
      expect(verdict.ok).toBe(true);
    }
  });

  it('detects and names every one of 1,000 random tamperings', async () => {
    const kinds = Object.keys(TAMPERS);
    const detected = new Map<string, number>();
    for (let trial = 0; trial < 1000; trial += 1) {
      const random = prng(trial);
      const kind = kinds[trial % kinds.length] as string;
      const world = await newWorld(random);
      const { zip, earlier, victim } = await (TAMPERS[kind] as Tamper)(world, random);
      const verdict = check(zip, earlier);
      // Not accepted, and the verdict says what it found.
      expect([trial, kind, verdict.ok]).toEqual([trial, kind, false]);
      expect(verdict.problems.length).toBeGreaterThan(0);
      if (victim !== undefined && !kind.startsWith('zip proof: insert')) {
        expect([trial, kind, verdict.problems.join('\n')]).toEqual([
          trial,
          kind,
          expect.stringContaining(String(victim)),
        ]);
      }
      detected.set(kind, (detected.get(kind) ?? 0) + 1);
    }
    expect(detected.size).toBe(kinds.length);
    expect([...detected.values()].reduce((sum, count) => sum + count, 0)).toBe(1000);
  });
});
