import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  checkpointText,
  openCheckpoint,
  parseCheckpointText,
  signCheckpoint,
} from '../../../lambdas/domain/tlog/checkpoint.js';
import {
  CompactRange,
  consistencyProof,
  emptyRoot,
  type Hash,
  inclusionProof,
  leafHash,
  leafHashOfText,
  nodeHash,
  type PerfectNodeReader,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../lambdas/domain/tlog/merkle.js';
import {
  encodeSignerKey,
  NoteError,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signerFromSeed,
  signNote,
} from '../../../lambdas/domain/tlog/note.js';
import { rangeProof, verifyRange } from '../../../lambdas/domain/tlog/range-proof.js';
import {
  appendToTiles,
  mostTilesGrownBy,
  tileNodeReader,
  tilePath,
  tilesGrownBy,
} from '../../../lambdas/domain/tlog/tiles.js';

const hex = (hash: Uint8Array) => Buffer.from(hash).toString('hex');

/** A tree kept in memory the way a store keeps it: every perfect subtree produced by appends. */
const memoryTree = (leaves: readonly Uint8Array[]) => {
  const nodes = new Map<string, Hash>();
  const range = CompactRange.empty();
  const roots: Hash[] = [];
  for (const leaf of leaves) {
    for (const node of range.append(leafHash(leaf))) nodes.set(`${node.level}/${node.index}`, node.hash);
    roots.push(range.root());
  }
  const read: PerfectNodeReader = async (level, index) => {
    const hash = nodes.get(`${level}/${index}`);
    if (!hash) throw new Error(`no node ${level}/${index}`);
    return hash;
  };
  return { read, range, roots, nodes };
};

// The RFC 6962 / Certificate Transparency reference inputs and roots (trillian and certificate-transparency-go tests).
const REFERENCE_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((value) => Buffer.from(value, 'hex'));
const REFERENCE_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** SHA-256 of the parts as a Hash object computes it: what every hash here must equal, byte for byte. */
const reference = (...parts: (Uint8Array | string)[]): string => {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part);
  return digest.digest('hex');
};

describe('RFC 9162 Merkle tree', () => {
  it('hashes the empty tree, leaves, texts and nodes as createHash does, into plain Uint8Arrays (seeded property)', () => {
    const isPlain = (hash: Hash) =>
      Object.getPrototypeOf(hash) === Uint8Array.prototype && hash.length === 32;
    expect(hex(emptyRoot())).toBe(reference());
    expect(isPlain(emptyRoot())).toBe(true);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        // Any UTF-16, unpaired surrogates included (both encoders write U+FFFD for them).
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({
            unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
            maxLength: 300,
          }),
        ),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        // Proofs read from files may hold hashes of other lengths: hashed as they are.
        fc.uint8Array({ maxLength: 40 }),
        (data, text, left, right, odd) => {
          // Long texts take another way (a Hash object): past 1,024 characters.
          const long = `${text}${'é'.repeat(1_024)}`;
          const hashes = [
            leafHash(data),
            leafHashOfText(text),
            leafHashOfText(long),
            nodeHash(left, right),
            nodeHash(right, left),
            nodeHash(odd, right),
            nodeHash(left, odd),
          ];
          // Compared after all were made: no hash shares bytes with one made after it.
          expect(hashes.map(hex)).toEqual([
            reference(Uint8Array.of(0), data),
            reference(Uint8Array.of(0), Buffer.from(text, 'utf8')),
            reference(Uint8Array.of(0), Buffer.from(long, 'utf8')),
            reference(Uint8Array.of(1), left, right),
            reference(Uint8Array.of(1), right, left),
            reference(Uint8Array.of(1), odd, right),
            reference(Uint8Array.of(1), left, odd),
          ]);
          expect(hashes.every(isPlain)).toBe(true);
        },
      ),
      { numRuns: 1_000, seed: 9162 },
    );
  });

  it('computes the reference roots incrementally and from stored nodes', async () => {
    // Prepare
    const tree = memoryTree(REFERENCE_LEAVES);

    // Act
    const fromNodes = await Promise.all(REFERENCE_LEAVES.map((_, index) => rootHash(tree.read, index + 1)));

    // Assess
    expect(tree.roots.map(hex)).toEqual(REFERENCE_ROOTS);
    expect(fromNodes.map(hex)).toEqual(REFERENCE_ROOTS);
  });

  it('proves and verifies every leaf in every tree size up to 40, and rejects every wrong claim', async () => {
    // Prepare
    const leaves = Array.from({ length: 40 }, (_, index) => Buffer.from(`entry ${index}`));
    const tree = memoryTree(leaves);

    for (let size = 1; size <= leaves.length; size++) {
      const root = tree.roots[size - 1] as Hash;
      for (let index = 0; index < size; index++) {
        // Act
        const proof = await inclusionProof(tree.read, index, size);
        const leaf = leafHash(leaves[index] as Buffer);

        // Assess
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
        expect(verifyInclusion(index, size, leaf, proof, root)).toBe(true);
        expect(verifyInclusion(index, size, leafHash(Buffer.from('forged')), proof, root)).toBe(false);
        if (size > 1) expect(verifyInclusion((index + 1) % size, size, leaf, proof, root)).toBe(false);
        expect(verifyInclusion(index, size, leaf, proof, tree.roots[size % leaves.length] as Hash)).toBe(
          false,
        );
        if (proof.length > 0) expect(verifyInclusion(index, size, leaf, proof.slice(1), root)).toBe(false);
      }
    }
  });

  it('proves consistency between every pair of sizes up to 33, and rejects a forked history', async () => {
    // Prepare
    const leaves = Array.from({ length: 33 }, (_, index) => Buffer.from(`entry ${index}`));
    const tree = memoryTree(leaves);
    const fork = memoryTree(leaves.map((leaf, index) => (index === 5 ? Buffer.from('rewritten') : leaf)));

    for (let second = 1; second <= leaves.length; second++) {
      for (let first = 1; first <= second; first++) {
        // Act
        const proof = await consistencyProof(tree.read, first, second);
        const firstRoot = tree.roots[first - 1] as Hash;
        const secondRoot = tree.roots[second - 1] as Hash;

        // Assess
        expect(verifyConsistency(first, second, firstRoot, secondRoot, proof)).toBe(true);
        if (first > 5) {
          const forkedRoot = fork.roots[second - 1] as Hash;
          expect(verifyConsistency(first, second, firstRoot, forkedRoot, proof)).toBe(false);
        }
        if (first < second)
          expect(verifyConsistency(second, first, secondRoot, firstRoot, proof)).toBe(false);
      }
    }
  });

  it('reloads its right edge from stored nodes and goes on appending to the same roots', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 1, max: 30 }),
        async (before, after) => {
          // Prepare
          const leaves = Array.from({ length: before + after }, (_, index) =>
            Buffer.from([index, index >> 8]),
          );
          const whole = memoryTree(leaves);
          const prefix = memoryTree(leaves.slice(0, before));

          // Act
          const reloaded = await CompactRange.load(prefix.read, before);
          for (const leaf of leaves.slice(before)) reloaded.append(leafHash(leaf));

          // Assess
          expect(hex(reloaded.root())).toBe(hex(whole.range.root()));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('C2SP signed notes and checkpoints', () => {
  // golang.org/x/mod/sumdb/note's published example key, text and signature.
  const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const TEXT =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const SIGNED = `${TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

  it("signs exactly as Go's note package does, and opens its notes", async () => {
    // Prepare
    const signer = parseSignerKey(SKEY);

    // Act
    const signed = await signNote(TEXT, [signer]);

    // Assess
    expect(signer.verifier.encoded).toBe(VKEY);
    expect(signed).toBe(SIGNED);
    expect(openNote(SIGNED, [parseVerifierKey(VKEY)])).toEqual({ text: TEXT, verifiedBy: ['PeterNeumann'] });
  });

  it('refuses a changed text, a changed signature and an unknown key', () => {
    const verifier = parseVerifierKey(VKEY);
    expect(() => openNote(SIGNED.replace('cryptography', 'cryptographY'), [verifier])).toThrow(
      'invalid signature',
    );
    expect(() => openNote(SIGNED.replace('x08go', 'x08gp'), [verifier])).toThrow(NoteError);
    const stranger = signerFromSeed('Stranger', new Uint8Array(32).fill(7)).verifier;
    expect(() => openNote(SIGNED, [stranger])).toThrow('no signature by a known key');
  });

  it('round-trips a checkpoint and binds it to its origin', async () => {
    // Prepare
    const seed = new Uint8Array(32).fill(3);
    const signer = parseSignerKey(encodeSignerKey('audit-trail.local', seed));
    const checkpoint = {
      origin: 'audit-trail.local/acme',
      size: 8,
      root: Buffer.from(REFERENCE_ROOTS[7] as string, 'hex'),
      extensions: [],
    };

    // Act
    const signed = await signCheckpoint(checkpoint, [signer]);
    const opened = openCheckpoint(signed, [signer.verifier], 'audit-trail.local/acme');

    // Assess
    expect(checkpointText(checkpoint)).toBe(
      `audit-trail.local/acme\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
    );
    expect(opened.size).toBe(8);
    expect(hex(opened.root)).toBe(REFERENCE_ROOTS[7]);
    expect(() => openCheckpoint(signed, [signer.verifier], 'audit-trail.local/other')).toThrow(
      'not "audit-trail.local/other"',
    );
    expect(() => parseCheckpointText('o\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n')).toThrow(
      'decimal',
    );
  });
});

describe('C2SP hash tiles', () => {
  /** Tiles kept in memory, overwritten as they grow, counting reads. */
  const tileStore = () => {
    const tiles = new Map<string, Uint8Array>();
    const stats = { reads: 0 };
    const read = async (level: number, index: number, minWidth: number) => {
      stats.reads += 1;
      const hashes = tiles.get(`${level}/${index}`);
      if (!hashes || hashes.length < minWidth * 32)
        throw new Error(`tile ${level}/${index} lacks ${minWidth} hashes`);
      return hashes;
    };
    return { tiles, stats, read };
  };

  it('names tiles as the C2SP layout does', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 1, index: 7, width: 8 })).toBe('tile/1/007.p/8');
  });

  it('appends in batches to the same roots as one leaf at a time, and serves proofs from tiles', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        async (batches) => {
          // Prepare
          const total = batches.reduce((sum, batch) => sum + batch, 0);
          const leaves = Array.from({ length: total }, (_, index) => Buffer.from(`leaf ${index}`));
          const reference = memoryTree(leaves);
          const store = tileStore();

          // Act
          let size = 0;
          for (const batch of batches) {
            const appended = await appendToTiles(
              store.read,
              size,
              leaves.slice(size, size + batch).map(leafHash),
            );
            for (const tile of appended.tiles) store.tiles.set(`${tile.level}/${tile.index}`, tile.hashes);
            // Assess
            expect(appended.tiles).toHaveLength(tilesGrownBy(size, batch));
            size = appended.size;
            expect(hex(appended.root)).toBe(hex(reference.roots[size - 1] as Hash));
          }
          const index = total - 1 - Math.floor(total / 3);
          const proof = await inclusionProof(tileNodeReader(store.read), index, total);
          expect(
            verifyInclusion(
              index,
              total,
              leafHash(leaves[index] as Buffer),
              proof,
              reference.roots[total - 1] as Hash,
            ),
          ).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('appends from the previous append’s edge to the same tiles and root as from loaded tiles, and leaves that edge as it was', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 2, maxLength: 6 }),
        async (batches) => {
          // Prepare
          const total = batches.reduce((sum, batch) => sum + batch, 0);
          const leaves = Array.from({ length: total }, (_, index) => leafHash(Buffer.from(`leaf ${index}`)));
          const loaded = tileStore();
          const carried = tileStore();

          // Act
          let size = 0;
          let edge: Awaited<ReturnType<typeof appendToTiles>>['edge'] | undefined;
          for (const batch of batches) {
            const batchLeaves = leaves.slice(size, size + batch);
            const fromTiles = await appendToTiles(loaded.read, size, batchLeaves);
            const edgeBefore = edge ? hex(edge.root()) : undefined;
            const fromEdge = await appendToTiles(carried.read, size, batchLeaves, edge);
            for (const tile of fromTiles.tiles) loaded.tiles.set(`${tile.level}/${tile.index}`, tile.hashes);
            for (const tile of fromEdge.tiles) carried.tiles.set(`${tile.level}/${tile.index}`, tile.hashes);

            // Assess
            expect(hex(fromEdge.root)).toBe(hex(fromTiles.root));
            expect(
              fromEdge.tiles.map((tile) => [tile.level, tile.index, tile.oldWidth, hex(tile.hashes)]),
            ).toEqual(
              fromTiles.tiles.map((tile) => [tile.level, tile.index, tile.oldWidth, hex(tile.hashes)]),
            );
            expect(edge ? hex(edge.root()) : undefined).toBe(edgeBefore);
            expect(fromEdge.edge.treeSize).toBe(size + batch);
            edge = fromEdge.edge;
            size = fromEdge.size;
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('counts the tiles an append grows without appending, at every tile level', async () => {
    // Prepare: appends that fill level-0 tiles, complete a level-1 hash, and reach level 2 (65,536).
    const store = tileStore();
    const appends: [number, number][] = [];
    let size = 0;
    for (const count of [1, 255, 1, 100, 300, 65_000, 100, 1, 1_000]) {
      const batch = Array.from({ length: count }, (_, offset) =>
        leafHash(Buffer.from(`leaf ${size + offset}`)),
      );

      // Act
      const appended = await appendToTiles(store.read, size, batch);

      // Assess
      appends.push([appended.tiles.length, tilesGrownBy(size, count)]);
      for (const tile of appended.tiles) store.tiles.set(`${tile.level}/${tile.index}`, tile.hashes);
      size = appended.size;
    }
    expect(appends.map(([grown]) => grown)).toEqual(appends.map(([, counted]) => counted));
    expect(appends.map(([grown]) => grown)).toEqual([1, 2, 1, 1, 3, 257, 1, 1, 6]);
    expect(tilesGrownBy(65_535, 1)).toBe(3);
    expect(tilesGrownBy(12_345, 0)).toBe(0);
  });

  it('bounds the tiles an append of n leaves grows at any size, and the bound is reached', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 - 1_000 }),
        fc.integer({ min: 0, max: 1_000 }),
        (size, count) => {
          expect(tilesGrownBy(size, count)).toBeLessThanOrEqual(mostTilesGrownBy(count));
        },
      ),
    );
    // Reached by the leaf that completes a node at every level below 2⁴⁰ (the 2³²nd completes 4).
    expect(tilesGrownBy(2 ** 32 - 1, 1)).toBe(mostTilesGrownBy(1));
    expect(mostTilesGrownBy(1)).toBe(5);
    expect(tilesGrownBy(2 ** 32 - 257, 500)).toBeLessThanOrEqual(mostTilesGrownBy(500));
    expect(mostTilesGrownBy(500)).toBe(8);
    expect(mostTilesGrownBy(0)).toBe(0);
  });

  it('reads O(log n) tiles for a proof in a tree of 70,000 leaves', async () => {
    // Prepare
    const store = tileStore();
    let size = 0;
    while (size < 70_000) {
      const batch = Array.from({ length: 5_000 }, (_, offset) =>
        leafHash(Buffer.from(`leaf ${size + offset}`)),
      );
      const appended = await appendToTiles(store.read, size, batch);
      for (const tile of appended.tiles) store.tiles.set(`${tile.level}/${tile.index}`, tile.hashes);
      size = appended.size;
    }
    const root = await rootHash(tileNodeReader(store.read), size);
    store.stats.reads = 0;

    // Act
    const proof = await inclusionProof(tileNodeReader(store.read), 12_345, size);

    // Assess
    expect(verifyInclusion(12_345, size, leafHash(Buffer.from('leaf 12345')), proof, root)).toBe(true);
    expect(proof).toHaveLength(17);
    expect(store.stats.reads).toBeLessThanOrEqual(8);
  });
});

describe('range proofs', () => {
  it('proves every run [start, end) of every tree up to 24 leaves, and rejects a changed, moved or dropped leaf', async () => {
    // Prepare
    const leaves = Array.from({ length: 24 }, (_, index) => leafHash(Buffer.from(`entry ${index}`)));
    const tree = memoryTree(Array.from({ length: 24 }, (_, index) => Buffer.from(`entry ${index}`)));

    for (let size = 1; size <= leaves.length; size++) {
      const root = tree.roots[size - 1] as Hash;
      for (let start = 0; start <= size; start++) {
        for (let end = start; end <= size; end++) {
          // Act
          const proof = await rangeProof(tree.read, start, end, size);
          const run = leaves.slice(start, end);

          // Assess
          expect(await verifyRange(proof, run, root)).toBe(true);
          expect(proof.left.length + proof.right.length).toBeLessThanOrEqual(
            2 * Math.ceil(Math.log2(size + 1)),
          );
          if (run.length > 0) {
            const changed = [...run];
            changed[changed.length - 1] = leafHash(Buffer.from('forged'));
            expect(await verifyRange(proof, changed, root)).toBe(false);
            expect(await verifyRange(proof, run.slice(1), root)).toBe(false);
          }
          if (run.length > 1) expect(await verifyRange(proof, [...run].reverse(), root)).toBe(false);
        }
      }
    }
  });
});
