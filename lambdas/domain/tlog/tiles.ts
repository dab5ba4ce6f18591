import { CompactRange, type Hash, nodeHash, type PerfectNode, type PerfectNodeReader } from './merkle.js';

/**
 * The tree stored as C2SP hash tiles (https://c2sp.org/tlog-tiles): a level-L tile holds up to 256
 * consecutive hashes of tree level 8·L, so any perfect subtree is one tile read plus at most 255 hashes,
 * a proof for n leaves reads about log₂₅₆ n tiles per side, and appending a batch rewrites one partial
 * tile per level. Full tiles never change, which is what makes them cacheable and checkable.
 */

/** Hashes per full tile (tile height 8). */
export const TILE_WIDTH = 256;
const TILE_HEIGHT = 8;
const HASH_SIZE = 32;

/** One stored tile: `width` hashes of tree level 8·`level`, the first at index `index`·256. */
export interface Tile {
  readonly level: number;
  readonly index: number;
  readonly width: number;
  /** `width` hashes, 32 bytes each, concatenated. */
  readonly hashes: Uint8Array;
}

/**
 * Reads the tile (level, index) holding at least `minWidth` hashes (a full tile or a partial one at least
 * that wide). Only tiles inside the tree are asked for.
 */
export type TileReader = (level: number, index: number, minWidth: number) => Promise<Uint8Array>;

/** The tile path of the C2SP layout: `tile/<L>/<N>[.p/<W>]`, N in 3-digit groups with `x` before all but the last. */
export const tilePath = (tile: Pick<Tile, 'level' | 'index' | 'width'>): string => {
  const groups: string[] = [];
  let rest = tile.index;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  const index = groups
    .map((group, position) => (position < groups.length - 1 ? `x${group}` : group))
    .join('/');
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return `tile/${tile.level}/${index}${partial}`;
};

const hashAt = (hashes: Uint8Array, position: number): Hash => {
  const hash = hashes.subarray(position * HASH_SIZE, (position + 1) * HASH_SIZE);
  if (hash.length !== HASH_SIZE) throw new RangeError('tile is shorter than the tree says');
  return hash;
};

/** The root of the perfect subtree over `count` (a power of two) hashes of a tile, from `first`. */
const subtreeOf = (hashes: Uint8Array, first: number, count: number): Hash => {
  if (count === 1) return hashAt(hashes, first);
  const half = count / 2;
  return nodeHash(subtreeOf(hashes, first, half), subtreeOf(hashes, first + half, half));
};

/**
 * A perfect-subtree reader over tiles. Tiles are read once per reader (a reader serves one proof or one
 * append), so a proof costs one read per distinct tile it touches.
 */
export const tileNodeReader = (readTile: TileReader): PerfectNodeReader => {
  const cache = new Map<string, Promise<Uint8Array>>();
  return async (level, index) => {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const height = level - tileLevel * TILE_HEIGHT;
    const span = 2 ** height;
    const firstInLevel = index * span;
    const tileIndex = Math.floor(firstInLevel / TILE_WIDTH);
    const first = firstInLevel - tileIndex * TILE_WIDTH;
    const minWidth = first + span;
    const key = `${tileLevel}/${tileIndex}`;
    let pending = cache.get(key);
    let hashes = pending ? await pending : undefined;
    if (!hashes || hashes.length < minWidth * HASH_SIZE) {
      pending = readTile(tileLevel, tileIndex, minWidth);
      cache.set(key, pending);
      hashes = await pending;
    }
    return subtreeOf(hashes, first, span);
  };
};

/** A tile an append grew: its whole new content, and how many hashes it held before. */
export interface GrownTile extends Tile {
  readonly oldWidth: number;
}

/** The result of appending leaves to a tiled tree. */
export interface TiledAppend {
  readonly size: number;
  readonly root: Hash;
  /** Every tile whose content grew, with its whole new content (full, or the new partial width). */
  readonly tiles: readonly GrownTile[];
  /** The new tree's right edge: handed to the next append, it spares that append loading it. */
  readonly edge: CompactRange;
}

/**
 * How many tiles an append of `count` leaves to a tree of `size` leaves grows (what `appendToTiles`
 * returns as `tiles`): at each tile level the tiles holding the level's new hashes, stopping at the
 * first level that gains none (a level gains a hash only when the one below fills a tile's span).
 */
export const tilesGrownBy = (size: number, count: number): number => {
  let tiles = 0;
  for (let span = 1; ; span *= TILE_WIDTH) {
    const first = Math.floor(size / span);
    const last = Math.floor((size + count) / span) - 1;
    if (last < first) return tiles;
    tiles += Math.floor(last / TILE_WIDTH) - Math.floor(first / TILE_WIDTH) + 1;
  }
};

/**
 * The most tiles an append of `count` leaves grows, whatever the tree's size (below 2⁴⁰ leaves: five
 * tile levels, the fifth from the 2³²nd leaf on): at each level, the new nodes there span at most
 * one tile more than they fill.
 */
export const mostTilesGrownBy = (count: number): number => {
  let tiles = 0;
  for (let level = 0, span = 1; level < 5 && count > 0; level += 1, span *= TILE_WIDTH) {
    const nodes = Math.ceil(count / span);
    tiles += Math.min(nodes, Math.ceil(nodes / TILE_WIDTH) + 1);
  }
  return tiles;
};

/**
 * Appends leaf hashes to the tree of `size` leaves stored in tiles: O(log n) tile reads to load the right
 * edge, then the rewritten tiles (one partial tile per level, plus any that filled up). An `edge` of that
 * tree (a previous append's, trusted by the caller) replaces loading it, which costs up to 255 hashes
 * per tile level recomputed from the partial tiles; it is not modified.
 */
export const appendToTiles = async (
  readTile: TileReader,
  size: number,
  leaves: readonly Hash[],
  edge?: CompactRange,
): Promise<TiledAppend> => {
  const range =
    edge && edge.treeSize === size ? edge.copy() : await CompactRange.load(tileNodeReader(readTile), size);
  const created: PerfectNode[] = [];
  for (const leaf of leaves) created.push(...range.append(leaf));
  const newSize = range.treeSize;

  // Group the new hashes of every tile level (tree levels 0, 8, 16, …) by tile.
  const grown = new Map<string, { level: number; index: number; nodes: Map<number, Hash> }>();
  for (const node of created) {
    if (node.level % TILE_HEIGHT !== 0) continue;
    const level = node.level / TILE_HEIGHT;
    const index = Math.floor(node.index / TILE_WIDTH);
    const key = `${level}/${index}`;
    const entry = grown.get(key) ?? { level, index, nodes: new Map<number, Hash>() };
    entry.nodes.set(node.index - index * TILE_WIDTH, node.hash);
    grown.set(key, entry);
  }

  const tiles = await Promise.all(
    [...grown.values()].map(async ({ level, index, nodes }) => {
      const levelSize = Math.floor(newSize / TILE_WIDTH ** level);
      const width = Math.min(TILE_WIDTH, levelSize - index * TILE_WIDTH);
      const oldLevelSize = Math.floor(size / TILE_WIDTH ** level);
      const oldWidth = Math.max(0, Math.min(TILE_WIDTH, oldLevelSize - index * TILE_WIDTH));
      const hashes = new Uint8Array(width * HASH_SIZE);
      if (oldWidth > 0)
        hashes.set((await readTile(level, index, oldWidth)).subarray(0, oldWidth * HASH_SIZE));
      for (const [position, hash] of nodes) hashes.set(hash, position * HASH_SIZE);
      return { level, index, width, hashes, oldWidth };
    }),
  );
  return { size: newSize, root: range.root(), tiles, edge: range };
};
