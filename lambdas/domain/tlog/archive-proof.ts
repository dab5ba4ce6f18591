import type { ArchiveManifest } from '../purge.js';
import { type AuditRecord, hashRecord } from '../record.js';
import { openCheckpoint } from './checkpoint.js';
import { entryLeafHash } from './entry-leaf.js';
import {
  type Hash,
  nodeHash,
  type PerfectNode,
  type PerfectNodeReader,
  rootHash,
  sameHash,
} from './merkle.js';
import type { NoteVerifier } from './note.js';
import { Found, parseLine, type Verdict, verdict } from './proof-file.js';
import { perfectCover } from './range-proof.js';
import { openReceipt } from './receipt.js';

/**
 * The verifiable log's file in a purge archive (`tlog-proof.jsonl` beside the job's `manifest.json`
 * and parts; public key `<job>.tlog-proof.jsonl`), written when the job completes: the tenant's
 * signed checkpoint, for each part where its entries' leaves sit in the tree and the perfect
 * subtrees covering every other leaf (a multi-range proof: O(runs · log n) hashes, not a proof per
 * entry), and the job's signed purge receipts. `npm run verify -- <archive directory>` runs
 * {@link verifyArchive} offline with only the log's public key.
 *
 * Format `audit-trail-archive-proof/1`, JSON Lines:
 *
 *   {"format":"audit-trail-archive-proof/1","origin","key","key_id","checkpoint","tree_size","tenant","job_id"}
 *   {"part":"<part key>","sha256":"<hex>","count":n,"leaf_indexes":[…],"cover":[[level,index,"<base64>"],…]}
 *                              one per part, in the manifest's order: each entry's leaf index (−1
 *                              when the checkpoint does not hold it), and the subtrees covering
 *                              every other leaf of the tree, left to right
 *   {"receipt":"<note>"}       each signed purge receipt of the job
 *   {"end":{"parts":n,"receipts":n}}
 *
 * The verifier checks each part against the manifest's SHA-256, each entry's `hash`, that each
 * entry's leaf is named by a receipt of this job (so an altered or inserted entry names itself),
 * that the part's leaves with the cover hash to the signed root (each entry was logged at those
 * leaves), and that every leaf the job's receipts name is in the archive (a deleted entry).
 */

export const ARCHIVE_PROOF_NAME = 'tlog-proof.jsonl';
export const ARCHIVE_PROOF_FORMAT = 'audit-trail-archive-proof/1';

export interface ArchiveProofHeader {
  readonly format: typeof ARCHIVE_PROOF_FORMAT;
  readonly origin: string;
  readonly key: string;
  readonly key_id: string;
  readonly checkpoint: string;
  readonly tree_size: number;
  readonly tenant: string;
  readonly job_id: string;
}

/** One part's line. */
export interface ArchivePartProof {
  readonly part: string;
  readonly sha256: string;
  readonly count: number;
  /** Each entry's leaf index, in the part's order; −1 when the checkpoint does not hold it. */
  readonly leaf_indexes: readonly number[];
  /** The perfect subtrees covering every leaf not in `leaf_indexes`, left to right. */
  readonly cover: readonly (readonly [number, number, string])[];
}

/**
 * The perfect subtrees covering every leaf of a tree of `size` leaves except `indexes` (ascending,
 * distinct), left to right.
 */
export const coverAround = (indexes: readonly number[], size: number): { level: number; index: number }[] => {
  const cover: { level: number; index: number }[] = [];
  let next = 0;
  for (const index of indexes) {
    cover.push(...perfectCover(next, index));
    next = index + 1;
  }
  cover.push(...perfectCover(next, size));
  return cover;
};

/** A part's line, its cover's hashes read through `read` (tiles). */
export const archivePartProof = async (
  part: { readonly key: string; readonly sha256: string },
  leafIndexes: readonly number[],
  size: number,
  read: PerfectNodeReader,
): Promise<ArchivePartProof> => {
  const inTree = [...new Set(leafIndexes.filter((index) => index >= 0))].sort((a, b) => a - b);
  const cover: [number, number, string][] = [];
  for (const node of coverAround(inTree, size))
    cover.push([node.level, node.index, Buffer.from(await read(node.level, node.index)).toString('base64')]);
  return { part: part.key, sha256: part.sha256, count: leafIndexes.length, leaf_indexes: leafIndexes, cover };
};

/**
 * The root that `nodes` imply, when they cover leaves [0, size) exactly, left to right, each an
 * aligned perfect subtree inside the tree; undefined when they do not.
 */
export const rootFromNodes = async (
  nodes: readonly PerfectNode[],
  size: number,
): Promise<Hash | undefined> => {
  let next = 0;
  const known = new Map<string, Hash>();
  for (const node of nodes) {
    const span = 2 ** node.level;
    if (!(Number.isSafeInteger(node.index) && node.index >= 0 && node.level >= 0 && node.level < 64))
      return undefined;
    if (node.index * span !== next || node.hash.length !== 32) return undefined;
    next += span;
    known.set(`${node.level}/${node.index}`, node.hash);
  }
  if (next !== size) return undefined;
  const read: PerfectNodeReader = async (level, index) => {
    const memo = known.get(`${level}/${index}`);
    if (memo) return memo;
    if (level === 0) throw new RangeError(`leaf ${index} is not covered`);
    const hash = nodeHash(await read(level - 1, 2 * index), await read(level - 1, 2 * index + 1));
    known.set(`${level}/${index}`, hash);
    return hash;
  };
  try {
    return await rootHash(read, size);
  } catch {
    return undefined;
  }
};

const hex = (hash: Uint8Array): string => Buffer.from(hash).toString('hex');

/** Parses a part's JSON Lines text (after gunzip) into records; undefined when a line is not JSON. */
const partRecords = (text: string): AuditRecord[] | undefined => {
  const records: AuditRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const value = parseLine(line);
    if (!value) return undefined;
    records.push(value as unknown as AuditRecord);
  }
  return records;
};

/**
 * Verifies an archive offline: its manifest's text, each part's JSON Lines text (after gunzip) and
 * SHA-256 of its stored (gzip) bytes by part key, and the proof file's text.
 */
export const verifyArchive = async (input: {
  readonly manifest: string;
  readonly parts: ReadonlyMap<string, { readonly text: string; readonly sha256: string }>;
  readonly proof: string;
  readonly trusted: readonly NoteVerifier[];
}): Promise<Verdict> => {
  const found = new Found();
  const fail = (problem: string): Verdict => {
    found.add(problem);
    return verdict(found, 0, 0);
  };
  const lines = input.proof.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = parseLine(lines[0] ?? '') as ArchiveProofHeader | undefined;
  if (header?.format !== ARCHIVE_PROOF_FORMAT)
    return fail(`${ARCHIVE_PROOF_NAME} is not a ${ARCHIVE_PROOF_FORMAT} file`);
  const origin = String(header.origin);
  let size: number;
  let root: Hash;
  try {
    const checkpoint = openCheckpoint(String(header.checkpoint), input.trusted, origin);
    size = checkpoint.size;
    root = checkpoint.root;
  } catch (error) {
    return fail(`the checkpoint does not verify with the trusted key: ${(error as Error).message}`);
  }
  if (header.tree_size !== size)
    return fail(`the proof says ${header.tree_size} leaves, its checkpoint ${size}`);
  let manifest: ArchiveManifest;
  try {
    manifest = JSON.parse(input.manifest) as ArchiveManifest;
    if (!Array.isArray(manifest.parts)) throw new Error('no parts');
  } catch {
    return fail('the manifest is not an archive manifest');
  }
  if (manifest.jobId !== header.job_id || manifest.tenant !== header.tenant)
    found.add(`the manifest is of job ${manifest.jobId} (${manifest.tenant}), the proof of ${header.job_id}`);

  const partLines = new Map<string, ArchivePartProof>();
  const receipts: string[] = [];
  let end: Record<string, unknown> | undefined;
  for (let position = 1; position < lines.length; position += 1) {
    const line = parseLine(lines[position] as string);
    if (end !== undefined || !line)
      found.add(`line ${position + 1} of ${ARCHIVE_PROOF_NAME} is not a proof line`);
    else if (typeof line.part === 'string') partLines.set(line.part, line as unknown as ArchivePartProof);
    else if (typeof line.receipt === 'string') receipts.push(line.receipt);
    else if (line.end && typeof line.end === 'object') end = line.end as Record<string, unknown>;
    else found.add(`line ${position + 1} of ${ARCHIVE_PROOF_NAME} is not a proof line`);
  }
  if (!end || end.parts !== partLines.size || end.receipts !== receipts.length)
    found.add(
      `${ARCHIVE_PROOF_NAME} is truncated or has lines added: its end line does not count what it holds`,
    );

  // The job's receipts: the leaves it purged (signed before they were deleted).
  const purged = new Map<string, { segment: number; archived: boolean }>();
  for (const [position, signed] of receipts.entries()) {
    try {
      const receipt = openReceipt(signed, input.trusted, origin);
      if (receipt.jobId !== header.job_id) {
        found.add(`purge receipt ${position} is of job ${receipt.jobId}, not ${header.job_id}`);
        continue;
      }
      for (const leaf of receipt.leaves) purged.set(hex(leaf), { segment: receipt.segment, archived: false });
    } catch (error) {
      found.add(`purge receipt ${position} does not verify: ${(error as Error).message}`);
    }
  }

  let entries = 0;
  let previousId = -1;
  for (const part of manifest.parts) {
    const stored = input.parts.get(part.key);
    const proof = partLines.get(part.key);
    partLines.delete(part.key);
    if (!stored) {
      found.add(`part ${part.key} is missing from the archive`);
      continue;
    }
    if (stored.sha256 !== part.sha256 || proof?.sha256 !== part.sha256)
      found.add(`part ${part.key} is not the one archived (its SHA-256 differs): altered or replaced`);
    const records = partRecords(stored.text);
    if (!records) {
      found.add(`part ${part.key} is not JSON Lines: damaged or altered`);
      continue;
    }
    const indexes =
      proof && Array.isArray(proof.leaf_indexes) && proof.leaf_indexes.length === records.length
        ? proof.leaf_indexes
        : undefined;
    const nodes: PerfectNode[] = [];
    for (const [position, record] of records.entries()) {
      entries += 1;
      const id = typeof record.id === 'number' ? record.id : Number.NaN;
      if (!(id > previousId)) found.add(`entry ${record.id} is out of order or repeated in the archive`, id);
      previousId = Math.max(previousId, id);
      let leaf: Hash;
      try {
        leaf = entryLeafHash(record);
        if (hashRecord(record) !== record.hash) throw new Error('hash');
      } catch {
        found.add(`entry ${record.id} in part ${part.key} was altered: its hash does not match`, id);
        continue;
      }
      const receipt = purged.get(hex(leaf));
      if (!receipt) {
        found.add(`entry ${id} in part ${part.key} was not purged by this job: altered or inserted`, id);
        continue;
      }
      if (receipt.archived) found.add(`entry ${id} is in the archive twice`, id);
      receipt.archived = true;
      if (!indexes) continue;
      const index = indexes[position] as number;
      if (index === -1) {
        found.add(
          `entry ${id} is not in the signed log of ${size} leaves (purged before it was sequenced)`,
          id,
        );
        continue;
      }
      nodes.push({ level: 0, index, hash: leaf });
    }
    if (!proof || !indexes) {
      found.add(
        `part ${part.key} holds ${records.length} entries, its proof ${proof?.leaf_indexes?.length ?? 'none'}`,
      );
      continue;
    }
    for (const node of Array.isArray(proof.cover) ? proof.cover : []) {
      const [level, index, hash] = Array.isArray(node) ? node : [];
      nodes.push({
        level: Number(level),
        index: Number(index),
        hash: new Uint8Array(Buffer.from(String(hash), 'base64')),
      });
    }
    nodes.sort((a, b) => a.index * 2 ** a.level - b.index * 2 ** b.level);
    const computed = await rootFromNodes(nodes, size);
    if (!computed || !sameHash(computed, root))
      found.add(
        `part ${part.key}: its entries' leaves and proof do not hash to the signed root: the log or the archive was altered`,
      );
  }
  for (const key of partLines.keys())
    found.add(`the proof names part ${key}, which the manifest does not list`);
  for (const [leaf, receipt] of purged) {
    if (!receipt.archived)
      found.add(
        `an entry purged under the receipt of segment ${receipt.segment} (leaf ${leaf.slice(0, 16)}…) is missing from the archive: deleted`,
      );
  }
  return verdict(found, size, entries, purged.size);
};
