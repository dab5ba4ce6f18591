import canonicalize from 'canonicalize';
import { toCanaryEntry } from '../canary-view.js';
import { InvariantError } from '../errors.js';
import type { AuditRecord } from '../record.js';
import { openCheckpoint } from './checkpoint.js';
import { entryLeafData, entryLeafText } from './entry-leaf.js';
import { CompactRange, type Hash, leafHash, sameHash } from './merkle.js';
import { type NoteVerifier, parseVerifierKey } from './note.js';
import { openReceipt } from './receipt.js';

/**
 * The verifiable log's file in a download zip (`tlog-proof.jsonl`, beside the dialect's document,
 * which it leaves as it was): everything needed to check the download offline with only the log's
 * public key, and no AWS. `npm run verify -- <zip> --key <key>` runs {@link verifyDownload}.
 *
 * Format `audit-trail-tlog-proof/2`, JSON Lines, written as a stream (the service never holds more
 * than a tile of leaves or a page of entries of it):
 *
 *   {"format":"audit-trail-tlog-proof/2","origin","key","key_id","checkpoint","tree_size","snapshot_max_id"}
 *   {"leaves":"<base64>"}     the tree's leaf hashes [0, tree_size) in order, 32 bytes each, a tile
 *                             (≤ 256 leaves) a line
 *   {"entry":{…}}             every entry the tenant's table holds (the exported ones as the export
 *                             read them, then any written since; the verifier relies on no order):
 *                             the entry as the log committed to it (RFC 8785 canonical JSON,
 *                             without `hash`)
 *   {"receipt":"<note>"}      every signed purge receipt of the tenant
 *   {"end":{"leaves":n,"entries":n,"receipts":n}}   how many of each came before (truncation)
 *
 * Entries carry no leaf index: the verifier (offline, O(tree size) memory) finds each entry's leaf
 * by its hash, so neither side trusts the sequencer's advisory entry-to-index map, and a replayed
 * leaf (one entry at two leaves) names its entry. The dialect document does not determine an entry's
 * logged form (the canary view drops `category`, `request` and `api_key` and rounds nothing but
 * formats the time), so each entry's canonical JSON is in the file once.
 *
 * The verifier recomputes the root from the leaves (so a changed, dropped, added or reordered leaf
 * breaks the signature), each entry's leaf from its canonical form, accounts for every leaf (an
 * entry, a purge receipt, or nothing: a deleted entry), and checks that the document shows exactly
 * the logged entries up to its snapshot, each as the dialect's view of its logged form. An exported
 * entry no leaf matches is named: altered or inserted, or written after the checkpoint.
 */

export const TLOG_PROOF_FILE = 'tlog-proof.jsonl';
export const TLOG_PROOF_FORMAT = 'audit-trail-tlog-proof/2';

/** The proof file's first line. */
export interface TlogProofHeader {
  readonly format: typeof TLOG_PROOF_FORMAT;
  /** The tenant's log origin. */
  readonly origin: string;
  /** The verifier key the service signs with (informational: verify with a key you trust). */
  readonly key: string;
  readonly key_id: string;
  /** The signed checkpoint (C2SP signed note). */
  readonly checkpoint: string;
  /** The checkpoint's tree size: how many leaves follow. */
  readonly tree_size: number;
  /** The newest entry id the document holds (its snapshot); 0 when empty. */
  readonly snapshot_max_id: number;
}

/** What the proof file is written from: each part a stream, read once, in order. */
export interface ProofFileSource {
  readonly origin: string;
  readonly verifier: NoteVerifier;
  /** The signed checkpoint, of `treeSize` leaves. */
  readonly checkpoint: string;
  readonly treeSize: number;
  readonly snapshotMaxId: number;
  /** The tree's leaf hashes [0, treeSize), in order, as runs of 32-byte hashes (a tile each). */
  readonly leaves: AsyncIterable<Uint8Array>;
  /**
   * The tenant's entries, each once, in any order, a page at a time: a page of entries, or of their
   * lines already written ({@link proofEntryLine}, as an export kept them aside; written as they are).
   */
  readonly entries: AsyncIterable<readonly AuditRecord[] | readonly string[]>;
  /** The tenant's signed purge receipts, a page at a time. */
  readonly receipts: AsyncIterable<readonly string[]>;
}

/** Leaves per `leaves` line at most (a full tile). */
const LEAVES_PER_LINE = 256;

const keyIdText = (verifier: NoteVerifier): string => verifier.keyId.toString(16).padStart(8, '0');

/**
 * An entry's line in the proof file, without its newline: its canonical JSON (what its leaf is the
 * hash of) inside `{"entry":…}`. JSON text holds no raw newline, so a line is one entry.
 */
export const proofEntryLine = (record: AuditRecord): string => `{"entry":${entryLeafText(record)}}`;

/**
 * The proof file as UTF-8 chunks: a line, a line of leaves, or a page of entries at a time. Its
 * memory is a tile and a page, whatever the tree's size. Throws when the leaves are not `treeSize`.
 */
export async function* writeProofFile(source: ProofFileSource): AsyncGenerator<Buffer> {
  const header: TlogProofHeader = {
    format: TLOG_PROOF_FORMAT,
    origin: source.origin,
    key: source.verifier.encoded,
    key_id: keyIdText(source.verifier),
    checkpoint: source.checkpoint,
    tree_size: source.treeSize,
    snapshot_max_id: source.snapshotMaxId,
  };
  yield Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  let leaves = 0;
  for await (const run of source.leaves) {
    if (run.length % 32 !== 0) throw new InvariantError('a run of leaves is not whole hashes');
    for (let offset = 0; offset < run.length; offset += LEAVES_PER_LINE * 32) {
      const line = run.subarray(offset, Math.min(run.length, offset + LEAVES_PER_LINE * 32));
      leaves += line.length / 32;
      yield Buffer.from(`{"leaves":"${Buffer.from(line).toString('base64')}"}\n`, 'utf8');
    }
  }
  if (leaves !== source.treeSize)
    throw new InvariantError(`the tree has ${leaves} leaves, its checkpoint ${source.treeSize}`);
  let entries = 0;
  for await (const page of source.entries) {
    if (page.length === 0) continue;
    entries += page.length;
    let text = '';
    for (const entry of page) text += `${typeof entry === 'string' ? entry : proofEntryLine(entry)}\n`;
    yield Buffer.from(text, 'utf8');
  }
  let receipts = 0;
  for await (const page of source.receipts) {
    if (page.length === 0) continue;
    receipts += page.length;
    yield Buffer.from(page.map((receipt) => `${JSON.stringify({ receipt })}\n`).join(''), 'utf8');
  }
  yield Buffer.from(`${JSON.stringify({ end: { leaves, entries, receipts } })}\n`, 'utf8');
}

/** The outcome of verifying a download. */
export interface Verdict {
  readonly ok: boolean;
  /** What was found, the first problem first (empty when ok). */
  readonly problems: readonly string[];
  /** The first entry found bad, when a problem is about one entry. */
  readonly firstBadEntry?: number;
  readonly treeSize?: number;
  readonly entriesChecked: number;
  readonly purgedLeaves: number;
}

export class Found {
  readonly problems: string[] = [];
  firstBadEntry: number | undefined;
  add(problem: string, entryId?: number): void {
    this.problems.push(problem);
    if (entryId !== undefined && this.firstBadEntry === undefined) this.firstBadEntry = entryId;
  }
}

const hex = (hash: Uint8Array): string => Buffer.from(hash).toString('hex');

/** An entry as the proof file holds it, with the leaf it hashes to; undefined when it is not one. */
export const parseLoggedEntry = (value: unknown): { record: AuditRecord; leaf: Hash } | undefined => {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as AuditRecord;
  if (typeof record.id !== 'number' || typeof record.tenant !== 'string') return undefined;
  try {
    return { record, leaf: leafHash(entryLeafData(record)) };
  } catch {
    return undefined;
  }
};

/** One line of a JSON Lines proof file as an object; undefined when it is not one. */
export const parseLine = (line: string): Record<string, unknown> | undefined => {
  try {
    const value = JSON.parse(line) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/** The proof file's header (first line), or undefined when it is not a version-2 proof file. */
export const proofHeaderOf = (proof: string): TlogProofHeader | undefined => {
  const end = proof.indexOf('\n');
  const header = parseLine(end < 0 ? proof : proof.slice(0, end));
  return header?.format === TLOG_PROOF_FORMAT ? (header as unknown as TlogProofHeader) : undefined;
};

/** Checks `earlier` checkpoints against the verified leaves: the tree must extend each (no fork). */
export const checkEarlier = (
  found: Found,
  leaves: Buffer,
  size: number,
  earlier: readonly string[],
  verifiers: readonly NoteVerifier[],
  origin: string,
): void => {
  for (const [position, signed] of earlier.entries()) {
    let checkpoint: { size: number; root: Hash };
    try {
      checkpoint = openCheckpoint(signed, verifiers, origin);
    } catch (error) {
      found.add(`earlier checkpoint ${position} does not verify: ${(error as Error).message}`);
      continue;
    }
    if (checkpoint.size > size) {
      found.add(`earlier checkpoint ${position} has ${checkpoint.size} leaves, more than this log's ${size}`);
      continue;
    }
    const prefix = CompactRange.empty();
    for (let index = 0; index < checkpoint.size; index += 1)
      prefix.append(leaves.subarray(index * 32, (index + 1) * 32));
    if (!sameHash(prefix.root(), checkpoint.root))
      found.add(
        `the log was forked: its first ${checkpoint.size} leaves are not those of the earlier checkpoint ${position}`,
      );
  }
};

/**
 * Verifies a download: `document` is the dialect's JSON document (`{"audit_trail": [...]}`),
 * `proof` the proof file's text, `trusted` the verifier keys to accept (the log's public key).
 */
export const verifyDownload = (input: {
  readonly document: string;
  readonly proof: string;
  readonly trusted: readonly (NoteVerifier | string)[];
  /**
   * Signed checkpoints of this log the caller kept from before (from the API, or earlier
   * downloads): the download's tree must extend each one, or its history was rewritten (a fork).
   */
  readonly earlier?: readonly string[];
}): Verdict => {
  const found = new Found();
  const fail = (problem: string, entryId?: number): Verdict => {
    found.add(problem, entryId);
    return verdict(found, 0, 0);
  };
  const verifiers = input.trusted.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key));

  const lines = input.proof.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = proofHeaderOf(lines[0] ?? '');
  if (!header) return fail(`${TLOG_PROOF_FILE} is not a ${TLOG_PROOF_FORMAT} file`);
  const origin = String(header.origin);
  let size: number;
  let root: Hash;
  try {
    const checkpoint = openCheckpoint(String(header.checkpoint), verifiers, origin);
    size = checkpoint.size;
    root = checkpoint.root;
  } catch (error) {
    return fail(`the checkpoint does not verify with the trusted key: ${(error as Error).message}`);
  }
  if (header.tree_size !== size)
    return fail(`the proof file says ${header.tree_size} leaves, its checkpoint ${size}`);

  // Sort the lines by kind; their counts are checked against the end line.
  const leafRuns: Buffer[] = [];
  const entryValues: { line: number; value: unknown }[] = [];
  const receiptNotes: string[] = [];
  let end: Record<string, unknown> | undefined;
  for (let position = 1; position < lines.length; position += 1) {
    const line = parseLine(lines[position] as string);
    if (end !== undefined || !line) {
      found.add(`line ${position + 1} of ${TLOG_PROOF_FILE} is not a proof line`);
      continue;
    }
    if (typeof line.leaves === 'string') {
      const run = Buffer.from(line.leaves, 'base64');
      if (run.length % 32 !== 0 || run.toString('base64') !== line.leaves) {
        found.add(`line ${position + 1} of ${TLOG_PROOF_FILE} holds no whole leaf hashes`);
        continue;
      }
      leafRuns.push(run);
    } else if ('entry' in line) entryValues.push({ line: position + 1, value: line.entry });
    else if (typeof line.receipt === 'string') receiptNotes.push(line.receipt);
    else if (line.end && typeof line.end === 'object') end = line.end as Record<string, unknown>;
    else found.add(`line ${position + 1} of ${TLOG_PROOF_FILE} is not a proof line`);
  }

  // 1. The leaves are the signed tree's: their root is the checkpoint's.
  const leaves = Buffer.concat(leafRuns);
  if (leaves.length !== size * 32)
    return fail(`the proof file holds ${Math.floor(leaves.length / 32)} leaves, the checkpoint ${size}`);
  const range = CompactRange.empty();
  for (let index = 0; index < size; index += 1) range.append(leaves.subarray(index * 32, (index + 1) * 32));
  if (!sameHash(range.root(), root))
    return fail(
      'the leaves do not hash to the signed root: the log was altered (tree storage or proof file)',
    );
  if (
    !end ||
    end.leaves !== size ||
    end.entries !== entryValues.length ||
    end.receipts !== receiptNotes.length
  )
    found.add(
      `${TLOG_PROOF_FILE} is truncated or has lines added: its end line does not count what it holds`,
    );
  checkEarlier(found, leaves, size, input.earlier ?? [], verifiers, origin);

  // 2. Each entry is found at its leaf by hash; every leaf is accounted for.
  const positions = new Map<string, number[]>();
  for (let index = 0; index < size; index += 1) {
    const key = leaves.subarray(index * 32, (index + 1) * 32).toString('hex');
    const at = positions.get(key);
    if (at) at.push(index);
    else positions.set(key, [index]);
  }
  // The entry id at each leaf; -1 for none.
  const claimed = new Float64Array(size).fill(-1);
  const logged = new Map<number, AuditRecord>();
  const unlogged = new Map<number, AuditRecord>();
  for (const { line, value } of entryValues) {
    const parsed = parseLoggedEntry(value);
    if (!parsed) {
      found.add(`line ${line} of ${TLOG_PROOF_FILE} is not an entry`);
      continue;
    }
    const { record, leaf } = parsed;
    if (logged.has(record.id) || unlogged.has(record.id)) {
      found.add(`entry ${record.id} appears twice in ${TLOG_PROOF_FILE}`, record.id);
      continue;
    }
    const at = positions.get(hex(leaf));
    if (!at) {
      unlogged.set(record.id, record);
      continue;
    }
    if (at.length > 1)
      found.add(
        `entry ${record.id} is in the log twice (leaves ${at.join(', ')}): a replayed entry`,
        record.id,
      );
    for (const index of at) claimed[index] = record.id;
    logged.set(record.id, record);
  }
  const purgedHashes = new Set<string>();
  for (const [position, signed] of receiptNotes.entries()) {
    try {
      const receipt = openReceipt(signed, verifiers, origin);
      for (const leaf of receipt.leaves) purgedHashes.add(hex(leaf));
    } catch (error) {
      found.add(`purge receipt ${position} does not verify: ${(error as Error).message}`);
    }
  }
  let purged = 0;
  for (let index = 0; index < size; index += 1) {
    const leaf = leaves.subarray(index * 32, (index + 1) * 32);
    const isPurged = purgedHashes.has(leaf.toString('hex'));
    const id = claimed[index] as number;
    if (id >= 0 && isPurged) {
      found.add(`entry ${id} (leaf ${index}) is present though a receipt says it was purged`, id);
    } else if (id < 0 && !isPurged) {
      found.add(`leaf ${index} has no entry and no purge receipt: an entry was deleted`);
    } else if (isPurged) purged += 1;
  }

  // 3. The document shows exactly the logged entries up to its snapshot, as their logged form.
  let documentEntries: unknown[];
  try {
    const parsed = JSON.parse(input.document) as { audit_trail?: unknown };
    if (!Array.isArray(parsed.audit_trail)) throw new Error('no audit_trail array');
    documentEntries = parsed.audit_trail;
  } catch {
    found.add('the document is not the export JSON document');
    return verdict(found, size, 0, purged);
  }
  const snapshot = Number(header.snapshot_max_id);
  const shown = new Set<number>();
  let previousId = Number.POSITIVE_INFINITY;
  for (const [position, entry] of documentEntries.entries()) {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id !== 'number') {
      found.add(`document entry ${position} has no id`);
      continue;
    }
    // The export lists entries newest first.
    if (id >= previousId) found.add(`entry ${id} is out of order in the document: reordered`, id);
    previousId = id;
    if (shown.has(id)) found.add(`entry ${id} appears twice in the document`, id);
    shown.add(id);
    const record = logged.get(id);
    if (!record) {
      found.add(
        unlogged.has(id)
          ? `entry ${id} is not in the signed log: altered or inserted, or written after the checkpoint (download again once the log covers it)`
          : `entry ${id} is not in the log: inserted`,
        id,
      );
      continue;
    }
    if (canonicalize(toCanaryEntry(record)) !== canonicalize(entry)) {
      found.add(`entry ${id} in the document differs from its logged form: altered`, id);
    }
  }
  for (const record of logged.values()) {
    if (record.id <= snapshot && !shown.has(record.id))
      found.add(`entry ${record.id} is in the log but missing from the document: deleted`, record.id);
  }
  return verdict(found, size, documentEntries.length, purged);
};

export const verdict = (
  found: Found,
  treeSize: number,
  entriesChecked: number,
  purgedLeaves = 0,
): Verdict => ({
  ok: found.problems.length === 0,
  problems: found.problems,
  ...(found.firstBadEntry !== undefined ? { firstBadEntry: found.firstBadEntry } : {}),
  treeSize,
  entriesChecked,
  purgedLeaves,
});
