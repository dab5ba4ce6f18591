import {
  type Hash,
  nodeHash,
  type PerfectNode,
  type PerfectNodeReader,
  rootHash,
  sameHash,
} from './merkle.js';

/**
 * Proofs for a whole run of consecutive leaves [start, end) of a tree of `size` leaves: the perfect
 * subtrees that cover [0, start) and [end, size). With the run's own leaf hashes they give the root, so a
 * download of a million entries carries O(log n) proof hashes instead of a proof per entry, and a purged
 * prefix of the log is represented by a few hashes instead of one per purged entry.
 */

/** The maximal aligned perfect subtrees covering leaves [start, end), left to right. */
export const perfectCover = (start: number, end: number): { level: number; index: number }[] => {
  const cover: { level: number; index: number }[] = [];
  let position = start;
  while (position < end) {
    let level = 0;
    while (position % 2 ** (level + 1) === 0 && position + 2 ** (level + 1) <= end) level += 1;
    cover.push({ level, index: position / 2 ** level });
    position += 2 ** level;
  }
  return cover;
};

/** What a verifier needs besides the run's leaves. */
export interface RangeProof {
  readonly start: number;
  readonly end: number;
  readonly size: number;
  /** The cover of [0, start), left to right. */
  readonly left: readonly PerfectNode[];
  /** The cover of [end, size), left to right. */
  readonly right: readonly PerfectNode[];
}

/** Builds the range proof for leaves [start, end) of the tree of `size` leaves. */
export const rangeProof = async (
  read: PerfectNodeReader,
  start: number,
  end: number,
  size: number,
): Promise<RangeProof> => {
  if (!(0 <= start && start <= end && end <= size))
    throw new RangeError(`no range [${start}, ${end}) in ${size}`);
  const withHashes = (cover: { level: number; index: number }[]) =>
    Promise.all(cover.map(async (node) => ({ ...node, hash: await read(node.level, node.index) })));
  const [left, right] = await Promise.all([
    withHashes(perfectCover(0, start)),
    withHashes(perfectCover(end, size)),
  ]);
  return { start, end, size, left, right };
};

/**
 * The root that a run of leaf hashes and its range proof imply, or undefined when the proof's shape is
 * wrong (it does not cover exactly [0, start) and [end, size), or the run has the wrong length).
 */
export const rootFromRange = async (
  proof: RangeProof,
  leaves: readonly Hash[],
): Promise<Hash | undefined> => {
  const { start, end, size } = proof;
  if (!(Number.isSafeInteger(size) && 0 <= start && start <= end && end <= size)) return undefined;
  if (leaves.length !== end - start) return undefined;
  const sameCover = (given: readonly PerfectNode[], expected: { level: number; index: number }[]) =>
    given.length === expected.length &&
    given.every(
      (node, position) =>
        node.level === expected[position]?.level && node.index === expected[position]?.index,
    );
  if (!sameCover(proof.left, perfectCover(0, start)) || !sameCover(proof.right, perfectCover(end, size)))
    return undefined;

  const known = new Map<string, Hash>();
  for (const node of [...proof.left, ...proof.right]) known.set(`${node.level}/${node.index}`, node.hash);
  for (const [offset, leaf] of leaves.entries()) known.set(`0/${start + offset}`, leaf);
  const read: PerfectNodeReader = async (level, index) => {
    const memo = known.get(`${level}/${index}`);
    if (memo) return memo;
    if (level === 0) throw new RangeError(`leaf ${index} is neither in the run nor covered by the proof`);
    const hash = nodeHash(await read(level - 1, 2 * index), await read(level - 1, 2 * index + 1));
    known.set(`${level}/${index}`, hash);
    return hash;
  };
  return rootHash(read, size);
};

/** True when the run of leaf hashes at [start, end) is part of the tree with root `root`. */
export const verifyRange = async (
  proof: RangeProof,
  leaves: readonly Hash[],
  root: Hash,
): Promise<boolean> => {
  const computed = await rootFromRange(proof, leaves);
  return computed !== undefined && sameHash(computed, root);
};
