import canonicalize from 'canonicalize';
import { toCanaryEntry } from '../canary-view.js';
import type { AuditRecord } from '../record.js';
import { openCheckpoint } from './checkpoint.js';
import { entryLeafData } from './entry-leaf.js';
import { CompactRange, type Hash, leafHash, sameHash } from './merkle.js';
import { type NoteVerifier, parseVerifierKey } from './note.js';
import { openReceipt } from './receipt.js';

/**
 * The verifiable log's file in a download zip (`tlog-proof.json`, beside the dialect's document,
 * which it leaves as it was): everything needed to check the download offline with only the log's
 * public key, and no AWS. `npm run verify -- <zip> --key <key>` runs {@link verifyDownload}.
 *
 * It holds the tenant's signed checkpoint, the tree's leaves up to that checkpoint (as stored), the
 * canonical form of each entry the log holds at those leaves, the exported entries the log does not
 * (yet) hold, and the signed purge receipts that account for purged leaves. The verifier recomputes
 * the root from the leaves (so a changed, dropped, added or reordered leaf breaks the signature),
 * each entry's leaf from its canonical form (so a changed entry names itself), accounts for every
 * leaf (an entry, a purge receipt, or nothing: a deleted entry), and checks that the document shows
 * exactly the logged entries up to its snapshot, each as the dialect's view of its logged form.
 */

export const TLOG_PROOF_FILE = 'tlog-proof.json';
export const TLOG_PROOF_FORMAT = 'audit-trail-tlog-proof/1';

export interface TlogProofFile {
  readonly format: typeof TLOG_PROOF_FORMAT;
  /** The tenant's log origin. */
  readonly origin: string;
  /** The verifier key the service signs with (informational: verify with a key you trust). */
  readonly key: string;
  readonly key_id: string;
  /** The signed checkpoint (C2SP signed note). */
  readonly checkpoint: string;
  /** The newest entry id the document holds (its snapshot); 0 when empty. */
  readonly snapshot_max_id: number;
  /** Base64 of the tree's leaf hashes [0, tree size), 32 bytes each, as the log stores them. */
  readonly leaves: string;
  /** Each entry the log holds at a leaf: its leaf index and its RFC 8785 canonical JSON. */
  readonly entries: readonly { readonly index: number; readonly canonical: string }[];
  /** Canonical JSON of exported entries the checkpoint does not cover (written after it). */
  readonly unlogged: readonly string[];
  /** Signed purge receipts: the leaves whose entries were purged. */
  readonly receipts: readonly string[];
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const hex = (hash: Hash): string => Buffer.from(hash).toString('hex');
const canonicalText = (record: AuditRecord): string => Buffer.from(entryLeafData(record)).toString('utf8');

/**
 * Builds the proof file: `leaves` are the tree's leaves up to the checkpoint's size, `records` the
 * tenant's entries as stored now (those of the document and any written since), `receipts` its
 * signed purge receipts. An entry is matched to the leaves holding its leaf hash.
 */
export const buildProofFile = (input: {
  readonly origin: string;
  readonly verifier: NoteVerifier;
  readonly checkpoint: string;
  readonly snapshotMaxId: number;
  readonly leaves: readonly Hash[];
  readonly records: readonly AuditRecord[];
  readonly receipts: readonly string[];
}): TlogProofFile => {
  const byLeaf = new Map<string, AuditRecord>();
  for (const record of input.records) byLeaf.set(hex(leafHash(entryLeafData(record))), record);
  const logged = new Set<number>();
  const entries: { index: number; canonical: string }[] = [];
  for (const [index, leaf] of input.leaves.entries()) {
    const record = byLeaf.get(hex(leaf));
    if (!record) continue;
    logged.add(record.id);
    entries.push({ index, canonical: canonicalText(record) });
  }
  const unlogged = input.records
    .filter((record) => record.id <= input.snapshotMaxId && !logged.has(record.id))
    .map(canonicalText);
  const all = new Uint8Array(input.leaves.length * 32);
  for (const [index, leaf] of input.leaves.entries()) all.set(leaf, index * 32);
  return {
    format: TLOG_PROOF_FORMAT,
    origin: input.origin,
    key: input.verifier.encoded,
    key_id: input.verifier.keyId.toString(16).padStart(8, '0'),
    checkpoint: input.checkpoint,
    snapshot_max_id: input.snapshotMaxId,
    leaves: b64(all),
    entries,
    unlogged,
    receipts: [...input.receipts],
  };
};

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

class Found {
  readonly problems: string[] = [];
  firstBadEntry: number | undefined;
  add(problem: string, entryId?: number): void {
    this.problems.push(problem);
    if (entryId !== undefined && this.firstBadEntry === undefined) this.firstBadEntry = entryId;
  }
}

const parseRecord = (text: string): AuditRecord | undefined => {
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    // Only canonical text is accepted, so one entry has exactly one leaf.
    if (canonicalize(value) !== text) return undefined;
    const record = value as AuditRecord;
    return typeof record.id === 'number' && typeof record.tenant === 'string' ? record : undefined;
  } catch {
    return undefined;
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

  let file: TlogProofFile;
  try {
    file = JSON.parse(input.proof) as TlogProofFile;
  } catch {
    return fail(`${TLOG_PROOF_FILE} is not JSON`);
  }
  if (file?.format !== TLOG_PROOF_FORMAT)
    return fail(`${TLOG_PROOF_FILE} is not a ${TLOG_PROOF_FORMAT} file`);
  let size: number;
  let root: Hash;
  try {
    const checkpoint = openCheckpoint(String(file.checkpoint), verifiers, String(file.origin));
    size = checkpoint.size;
    root = checkpoint.root;
  } catch (error) {
    return fail(`the checkpoint does not verify with the trusted key: ${(error as Error).message}`);
  }

  // 1. The leaves are the signed tree's: their root is the checkpoint's.
  const leafBytes = Buffer.from(String(file.leaves), 'base64');
  if (leafBytes.length !== size * 32 || b64(leafBytes) !== file.leaves)
    return fail(`the proof file holds ${Math.floor(leafBytes.length / 32)} leaves, the checkpoint ${size}`);
  const leaves: Hash[] = [];
  const range = CompactRange.empty();
  for (let index = 0; index < size; index += 1) {
    const leaf = new Uint8Array(leafBytes.subarray(index * 32, (index + 1) * 32));
    leaves.push(leaf);
    range.append(leaf);
  }
  if (!sameHash(range.root(), root))
    return fail(
      'the leaves do not hash to the signed root: the log was altered (tree storage or proof file)',
    );
  for (const [position, signed] of (input.earlier ?? []).entries()) {
    let earlier: { size: number; root: Hash };
    try {
      earlier = openCheckpoint(signed, verifiers, String(file.origin));
    } catch (error) {
      found.add(`earlier checkpoint ${position} does not verify: ${(error as Error).message}`);
      continue;
    }
    if (earlier.size > size) {
      found.add(
        `earlier checkpoint ${position} has ${earlier.size} leaves, more than this download's ${size}`,
      );
      continue;
    }
    const prefix = CompactRange.empty();
    for (const leaf of leaves.slice(0, earlier.size)) prefix.append(leaf);
    if (!sameHash(prefix.root(), earlier.root))
      found.add(
        `the log was forked: its first ${earlier.size} leaves are not those of the earlier checkpoint ${position}`,
      );
  }

  // 2. Each logged entry is its leaf; every leaf is accounted for.
  const claimed = new Map<number, number>();
  const logged = new Map<number, AuditRecord>();
  for (const [position, item] of (Array.isArray(file.entries) ? file.entries : []).entries()) {
    const record = parseRecord(String(item?.canonical));
    const index = item?.index;
    if (!record || typeof index !== 'number') {
      found.add(`entries[${position}] of ${TLOG_PROOF_FILE} is not an entry in canonical form`);
      continue;
    }
    if (!(Number.isSafeInteger(index) && index >= 0 && index < size)) {
      found.add(`entry ${record.id} claims leaf ${index}, outside the tree of ${size}`, record.id);
      continue;
    }
    if (!sameHash(leafHash(entryLeafData(record)), leaves[index] as Hash)) {
      found.add(`entry ${record.id} (leaf ${index}) was altered: it is not what the log holds`, record.id);
      continue;
    }
    if (claimed.has(index)) found.add(`leaf ${index} is claimed twice`, record.id);
    claimed.set(index, record.id);
    if (logged.has(record.id)) {
      found.add(`entry ${record.id} is in the log twice (leaf ${index}): a replayed entry`, record.id);
      continue;
    }
    logged.set(record.id, record);
  }
  const purgedHashes = new Set<string>();
  for (const [position, signed] of (Array.isArray(file.receipts) ? file.receipts : []).entries()) {
    try {
      const receipt = openReceipt(String(signed), verifiers, String(file.origin));
      for (const leaf of receipt.leaves) purgedHashes.add(hex(leaf));
    } catch (error) {
      found.add(`purge receipt ${position} does not verify: ${(error as Error).message}`);
    }
  }
  let purged = 0;
  for (let index = 0; index < size; index += 1) {
    const isPurged = purgedHashes.has(hex(leaves[index] as Hash));
    if (claimed.has(index) && isPurged) {
      found.add(
        `entry ${claimed.get(index)} (leaf ${index}) is present though a receipt says it was purged`,
        claimed.get(index),
      );
    } else if (!claimed.has(index) && !isPurged) {
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
  const unlogged = new Map<number, AuditRecord>();
  for (const text of Array.isArray(file.unlogged) ? file.unlogged : []) {
    const record = parseRecord(String(text));
    if (record) unlogged.set(record.id, record);
  }
  const snapshot = Number(file.snapshot_max_id);
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
          ? `entry ${id} is not covered by the checkpoint (written after it, or inserted outside the log)`
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

const verdict = (found: Found, treeSize: number, entriesChecked: number, purgedLeaves = 0): Verdict => ({
  ok: found.problems.length === 0,
  problems: found.problems,
  ...(found.firstBadEntry !== undefined ? { firstBadEntry: found.firstBadEntry } : {}),
  treeSize,
  entriesChecked,
  purgedLeaves,
});
