import { createHash, hash as oneShotHash } from 'node:crypto';
import { InvariantError } from '../errors.js';

/**
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and their verification.
 *
 * Leaves are hashed as SHA-256(0x00 ‖ data) and interior nodes as SHA-256(0x01 ‖ left ‖ right), so a leaf
 * can never be passed off as a node. Proofs are built from the hashes of *perfect* subtrees (2^level leaves
 * starting at a multiple of 2^level), which is what an append-only store keeps: a proof for a tree of n
 * leaves needs O(log n) of them. This module has no storage and no AWS dependency, so the same code checks
 * proofs offline (`npm run verify`) and builds them in the service.
 */

/** A SHA-256 digest (32 bytes). */
export type Hash = Uint8Array;

/**
 * SHA-256 of `data` (a string as its UTF-8) in one call: `crypto.hash` spares the Hash object that
 * `createHash` builds, update and digest (most of the cost of hashing an entry's text or a 65-byte
 * node). The digest is returned as a plain Uint8Array (a view of its bytes), as hashes always were here.
 */
const sha256 = (data: Uint8Array | string): Hash => {
  const digest = oneShotHash('sha256', data, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
};

const LEAF_PREFIX_BYTES = Uint8Array.of(0);
const NODE_PREFIX = 1;
const HASH_BYTES = 32;

/** The hash of an empty tree: SHA-256 of nothing. */
export const emptyRoot = (): Hash => sha256(new Uint8Array(0));

/**
 * SHA-256(0x00 ‖ data): the hash of one leaf. Two updates of a Hash object, not a copy for a
 * one-shot hash: as fast for an entry, and faster the longer the data (only verification calls it).
 */
export const leafHash = (data: Uint8Array): Hash =>
  new Uint8Array(createHash('sha256').update(LEAF_PREFIX_BYTES).update(data).digest());

/**
 * Text up to this length is hashed with its 0x00 prefix in one call (an entry is a few hundred
 * characters: 1.3 → 1.0 µs); past it, joining the prefix to the text costs more than the Hash
 * object saves (at 100,000 characters, 55 → 61 µs).
 */
const ONE_SHOT_TEXT = 1024;

/** SHA-256(0x00 ‖ the UTF-8 of `text`): `leafHash` of a text, without encoding it separately first. */
export const leafHashOfText = (text: string): Hash =>
  text.length <= ONE_SHOT_TEXT
    ? sha256(`\0${text}`)
    : new Uint8Array(createHash('sha256').update(LEAF_PREFIX_BYTES).update(text, 'utf8').digest());

/**
 * The input of a node hash of two 32-byte hashes, reused: hashing is synchronous, so no two calls
 * share it, and appending a leaf or checking a proof allocates only the digest.
 */
const nodeInput = new Uint8Array(1 + 2 * HASH_BYTES);
nodeInput[0] = NODE_PREFIX;

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node. */
export const nodeHash = (left: Hash, right: Hash): Hash => {
  if (left.length === HASH_BYTES && right.length === HASH_BYTES) {
    nodeInput.set(left, 1);
    nodeInput.set(right, 1 + HASH_BYTES);
    return sha256(nodeInput);
  }
  // A proof read from a file may hold a "hash" of any length: hashed as it is (it then fails to
  // match), never cut or padded.
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
};

/** True when two hashes hold the same bytes. */
export const sameHash = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, index) => byte === b[index]);

/** The largest power of two strictly below n (n ≥ 2). */
const splitPoint = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

/** Exact for every safe integer (bitwise operators would truncate past 2^32). */
const isPowerOfTwo = (n: number): boolean =>
  n > 0 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;

/**
 * Reads the hash of a perfect subtree: the 2^level leaves starting at index × 2^level. Level 0 is a leaf
 * hash. Only subtrees that lie wholly inside the tree are ever asked for.
 */
export type PerfectNodeReader = (level: number, index: number) => Promise<Hash>;

/** The Merkle tree hash of leaves [start, end) (MTH in RFC 9162), read from perfect subtrees. */
export const rangeHash = async (read: PerfectNodeReader, start: number, end: number): Promise<Hash> => {
  const size = end - start;
  if (size <= 0) return emptyRoot();
  if (isPowerOfTwo(size) && start % size === 0) return read(Math.log2(size), start / size);
  const k = splitPoint(size);
  const [left, right] = await Promise.all([
    rangeHash(read, start, start + k),
    rangeHash(read, start + k, end),
  ]);
  return nodeHash(left, right);
};

/** The root hash of a tree of `size` leaves. */
export const rootHash = (read: PerfectNodeReader, size: number): Promise<Hash> => rangeHash(read, 0, size);

/** PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, bottom-up. */
const inclusionPath = async (
  read: PerfectNodeReader,
  m: number,
  start: number,
  end: number,
): Promise<Hash[]> => {
  const size = end - start;
  if (size <= 1) return [];
  const k = splitPoint(size);
  if (m < k) {
    const [path, sibling] = await Promise.all([
      inclusionPath(read, m, start, start + k),
      rangeHash(read, start + k, end),
    ]);
    return [...path, sibling];
  }
  const [path, sibling] = await Promise.all([
    inclusionPath(read, m - k, start + k, end),
    rangeHash(read, start, start + k),
  ]);
  return [...path, sibling];
};

/** The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1). */
export const inclusionProof = (read: PerfectNodeReader, index: number, size: number): Promise<Hash[]> => {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  }
  return inclusionPath(read, index, 0, size);
};

/** SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, bottom-up. */
const subproof = async (
  read: PerfectNodeReader,
  m: number,
  start: number,
  end: number,
  complete: boolean,
): Promise<Hash[]> => {
  const size = end - start;
  if (m === size) return complete ? [] : [await rangeHash(read, start, end)];
  const k = splitPoint(size);
  if (m <= k) {
    const [path, right] = await Promise.all([
      subproof(read, m, start, start + k, complete),
      rangeHash(read, start + k, end),
    ]);
    return [...path, right];
  }
  const [path, left] = await Promise.all([
    subproof(read, m - k, start + k, end, false),
    rangeHash(read, start, start + k),
  ]);
  return [...path, left];
};

/** The consistency proof from a tree of `first` leaves to one of `second` (RFC 9162 §2.1.4.1). */
export const consistencyProof = (read: PerfectNodeReader, first: number, second: number): Promise<Hash[]> => {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new RangeError(`no consistency proof from ${first} to ${second}`);
  }
  if (first === 0 || first === second) return Promise.resolve([]);
  return subproof(read, first, 0, second, true);
};

/**
 * Checks an inclusion proof (RFC 9162 §2.1.3.2): true only if `leaf` is leaf `index` of the tree of
 * `size` leaves whose root is `root`.
 */
export const verifyInclusion = (
  index: number,
  size: number,
  leaf: Hash,
  proof: readonly Hash[],
  root: Hash,
): boolean => {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  // BigInt keeps the shifts exact past 2^31, where JavaScript's bitwise operators would truncate.
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && sameHash(r, root);
};

/**
 * Checks a consistency proof (RFC 9162 §2.1.4.2): true only if the tree of `second` leaves with root
 * `secondRoot` starts with the tree of `first` leaves with root `firstRoot`, that is, only appended to it.
 */
export const verifyConsistency = (
  first: number,
  second: number,
  firstRoot: Hash,
  secondRoot: Hash,
  proof: readonly Hash[],
): boolean => {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second)
    return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  // Every tree extends the empty tree; there is nothing to prove.
  if (first === 0) return proof.length === 0 && sameHash(firstRoot, emptyRoot());
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  const [head, ...rest] = path;
  if (!head) return false;
  let fn = BigInt(first - 1);
  let sn = BigInt(second - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = head;
  let sr = head;
  for (const c of rest) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
};

/** A perfect subtree hash produced by an append: where it sits and its value. */
export interface PerfectNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Hash;
}

/**
 * The right edge of a tree (its "compact range"): the roots of the perfect subtrees that make up its
 * leaves, largest first. Appending a leaf costs O(log n) hashes and yields every perfect subtree it
 * completes, which is all a store needs to keep for proofs.
 */
export class CompactRange {
  private constructor(
    private size: number,
    /** Perfect subtree roots, from the largest (leftmost) to the smallest (rightmost). */
    private readonly peaks: Hash[],
  ) {}

  /** An empty tree. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** The right edge of an existing tree of `size` leaves, read from its perfect subtrees. */
  static async load(read: PerfectNodeReader, size: number): Promise<CompactRange> {
    const peaks: Promise<Hash>[] = [];
    let start = 0;
    for (let level = Math.floor(Math.log2(Math.max(size, 1))); level >= 0; level--) {
      const width = 2 ** level;
      if (start + width <= size) {
        peaks.push(read(level, start / width));
        start += width;
      }
    }
    return new CompactRange(size, await Promise.all(peaks));
  }

  /** An independent copy: appending to it leaves this one as it is. */
  copy(): CompactRange {
    return new CompactRange(this.size, [...this.peaks]);
  }

  /** How many leaves the tree holds. */
  get treeSize(): number {
    return this.size;
  }

  /** Appends a leaf hash; returns every perfect subtree this completes (the leaf itself first). */
  append(leaf: Hash): PerfectNode[] {
    const created: PerfectNode[] = [{ level: 0, index: this.size, hash: leaf }];
    let hash = leaf;
    let level = 0;
    let index = this.size;
    // Each trailing 1 bit of the old size is a peak of the same width that the new node merges with.
    while ((index & 1) === 1) {
      const left = this.peaks.pop();
      if (!left) throw new InvariantError('compact range is inconsistent with its size');
      hash = nodeHash(left, hash);
      level += 1;
      index = Math.floor(index / 2);
      created.push({ level, index, hash });
    }
    this.peaks.push(hash);
    this.size += 1;
    return created;
  }

  /** The root hash of the tree. */
  root(): Hash {
    const [last, ...others] = [...this.peaks].reverse();
    if (!last) return emptyRoot();
    return others.reduce((right, left) => nodeHash(left, right), last);
  }
}
