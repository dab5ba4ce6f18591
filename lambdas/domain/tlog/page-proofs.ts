import canonicalize from 'canonicalize';
import type { AuditRecord } from '../record.js';
import { openCheckpoint } from './checkpoint.js';
import { entryLeafData, parseCanonicalEntry } from './entry-leaf.js';
import { type Hash, leafHash, verifyInclusion } from './merkle.js';
import { type NoteVerifier, parseVerifierKey } from './note.js';

/**
 * A page's proofs (`proofs=inclusion` on a dialect's page): the tenant's latest signed checkpoint
 * and, for each entry of the page the checkpoint covers, its canonical form (what its leaf commits
 * to), its leaf index and its RFC 9162 inclusion proof. With only the log's public key a reader
 * checks that each shown entry is, as shown, in the signed tree ({@link verifyPageProofs}).
 */
export const PAGE_PROOFS_FORMAT = 'audit-trail-page-proofs/1';

export interface PageProofs {
  readonly format: typeof PAGE_PROOFS_FORMAT;
  /** The signed checkpoint (C2SP signed note) the proofs are against; null before any entry is sequenced. */
  readonly checkpoint: string | null;
  readonly tree_size: number;
  /** The page's entries the checkpoint covers, in the page's order. */
  readonly entries: readonly PageEntryProof[];
  /** Ids of the page's entries the checkpoint does not cover yet (sequenced seconds after they are written). */
  readonly unlogged: readonly number[];
}

export interface PageEntryProof {
  readonly id: number;
  readonly leaf_index: number;
  /** The entry's RFC 8785 canonical JSON without its `hash`: its leaf is SHA-256(0x00 ‖ this text). */
  readonly canonical: string;
  /** The inclusion proof's hashes, base64, bottom up. */
  readonly proof: readonly string[];
}

/** The outcome of checking a page's proofs. */
export interface PageVerdict {
  readonly ok: boolean;
  /** What was found, the first problem first (empty when ok). */
  readonly problems: readonly string[];
  /** The first entry found bad. */
  readonly firstBadEntry?: number;
  /** Entries shown and proven in the signed tree. */
  readonly proven: number;
  /** Entries shown that the checkpoint does not cover yet (not a problem unless `requireAll`). */
  readonly uncovered: number;
  readonly treeSize: number;
}

const fromB64 = (text: unknown): Uint8Array => new Uint8Array(Buffer.from(String(text), 'base64'));

/**
 * Checks a page against its proofs: `shown` are the page's entries as the dialect answered them,
 * `view` turns a logged entry into that dialect's form (e.g. `toCanaryEntry`), `idOf` reads a
 * shown entry's id. Every shown entry must be proven, as shown, in the tree of a checkpoint signed
 * by a `trusted` key (of log `origin` when given), or be listed as not covered yet.
 */
export const verifyPageProofs = (input: {
  readonly shown: readonly unknown[];
  readonly proofs: unknown;
  readonly trusted: readonly (NoteVerifier | string)[];
  readonly view: (record: AuditRecord) => unknown;
  readonly idOf: (shown: unknown) => number | undefined;
  readonly origin?: string;
  /** Count an entry the checkpoint does not cover as a problem (a page read long after it was written). */
  readonly requireAll?: boolean;
}): PageVerdict => {
  const problems: string[] = [];
  let firstBadEntry: number | undefined;
  const add = (problem: string, id?: number) => {
    problems.push(problem);
    if (id !== undefined && firstBadEntry === undefined) firstBadEntry = id;
  };
  const finish = (proven: number, uncovered: number, treeSize: number): PageVerdict => ({
    ok: problems.length === 0,
    problems,
    ...(firstBadEntry !== undefined ? { firstBadEntry } : {}),
    proven,
    uncovered,
    treeSize,
  });
  const proofs = input.proofs as Partial<PageProofs> | null | undefined;
  if (proofs?.format !== PAGE_PROOFS_FORMAT) {
    add(`the page carries no ${PAGE_PROOFS_FORMAT} proofs`);
    return finish(0, 0, 0);
  }
  const verifiers = input.trusted.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key));
  const unlogged = new Set(Array.isArray(proofs.unlogged) ? proofs.unlogged : []);
  let size = 0;
  let root: Hash | undefined;
  if (proofs.checkpoint !== null) {
    try {
      const checkpoint = openCheckpoint(String(proofs.checkpoint), verifiers, input.origin);
      size = checkpoint.size;
      root = checkpoint.root;
    } catch (error) {
      add(`the checkpoint does not verify with the trusted key: ${(error as Error).message}`);
      return finish(0, 0, 0);
    }
    if (proofs.tree_size !== size)
      add(`the proofs claim a tree of ${proofs.tree_size}, the checkpoint ${size}`);
  }
  const provenEntries = new Map<number, AuditRecord>();
  for (const [position, item] of (Array.isArray(proofs.entries) ? proofs.entries : []).entries()) {
    const record = parseCanonicalEntry(String(item?.canonical));
    if (!record || record.id !== item?.id) {
      add(`proof ${position} does not hold an entry in canonical form`, item?.id);
      continue;
    }
    const path = Array.isArray(item.proof) ? item.proof.map(fromB64) : [];
    if (!root || !verifyInclusion(item.leaf_index, size, leafHash(entryLeafData(record)), path, root)) {
      add(
        `entry ${record.id} is not leaf ${item.leaf_index} of the signed tree: altered or not logged`,
        record.id,
      );
      continue;
    }
    provenEntries.set(record.id, record);
  }
  let proven = 0;
  let uncovered = 0;
  for (const [position, entry] of input.shown.entries()) {
    const id = input.idOf(entry);
    if (id === undefined) {
      add(`page entry ${position} has no id`);
      continue;
    }
    const record = provenEntries.get(id);
    if (record) {
      if (canonicalize(input.view(record)) === canonicalize(entry)) proven += 1;
      else add(`entry ${id} on the page differs from its logged form: altered`, id);
    } else if (unlogged.has(id)) {
      uncovered += 1;
      if (input.requireAll) add(`entry ${id} is not covered by the checkpoint`, id);
    } else {
      add(`entry ${id} on the page has no proof`, id);
    }
  }
  return finish(proven, uncovered, size);
};
