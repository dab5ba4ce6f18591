import type { TrailingFiles, ZipTrailingFile } from '../domain/export.js';
import { MAX_ID } from '../domain/ids.js';
import type { AuditRecord } from '../domain/record.js';
import { parseCheckpointText } from '../domain/tlog/checkpoint.js';
import { tenantOrigin } from '../domain/tlog/entry-leaf.js';
import type { NoteVerifier } from '../domain/tlog/note.js';
import { proofEntryLine, TLOG_PROOF_FILE, writeProofFile } from '../domain/tlog/proof-file.js';
import { TILE_WIDTH } from '../domain/tlog/tiles.js';
import type { EventStore, PageResult } from '../ports/event-store.js';
import type { StoredCheckpoint, TlogReader } from '../ports/tlog.js';

export interface TlogExportDependencies {
  readonly reader: TlogReader;
  readonly events: Pick<EventStore, 'queryPage'>;
  readonly verifier: () => Promise<NoteVerifier>;
  /** The service's log origin. */
  readonly origin: string;
  readonly clock: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * How long, at most, to wait for a checkpoint that covers the export's newest entry (the
   * sequencer runs about a second behind the writes) before the proof file goes with the latest
   * one, the entries it does not cover named by the verifier. 0: never wait.
   */
  readonly waitMs: number;
}

/** Entries per query (as the export's own pages: little alive between awaits). */
const PAGE = 250;
const POLL_MS = 100;

/** The tree's leaves [0, size), a tile (256 leaves) at a time, the next tile read ahead. */
async function* leafTiles(reader: TlogReader, tenant: string, size: number): AsyncGenerator<Uint8Array> {
  const tiles = reader.tiles(tenant);
  const read = (tile: number) => {
    const width = Math.min(TILE_WIDTH, size - tile * TILE_WIDTH);
    const pending = tiles(0, tile, width).then((hashes) => hashes.subarray(0, width * 32));
    pending.catch(() => undefined);
    return pending;
  };
  let next = size > 0 ? read(0) : undefined;
  for (let tile = 0; next; tile += 1) {
    const current: Promise<Uint8Array> = next;
    next = (tile + 1) * TILE_WIDTH < size ? read(tile + 1) : undefined;
    yield await current;
  }
}

/**
 * The tenant's entries as stored now with ids from `fromId`, ascending, a page at a time, the next
 * page read ahead.
 */
async function* entryPages(
  events: Pick<EventStore, 'queryPage'>,
  tenant: string,
  fromId = 0,
): AsyncGenerator<readonly AuditRecord[]> {
  const read = (minId: number) => {
    const page = events.queryPage({
      tenant,
      selector: { kind: 'all' },
      minId,
      maxId: MAX_ID,
      newestFirst: false,
      limit: PAGE,
      consistent: true,
    });
    // A page read ahead may fail while the previous one is written; it is awaited below.
    page.catch(() => undefined);
    return page;
  };
  let next: Promise<PageResult> | undefined = read(fromId);
  while (next) {
    const { records }: PageResult = await next;
    const last = records[records.length - 1];
    next = records.length === PAGE && last ? read(last.id + 1) : undefined;
    if (records.length > 0) yield records;
  }
}

async function* concat<T>(...sources: AsyncIterable<T>[]): AsyncGenerator<T> {
  for (const source of sources) yield* source;
}

/** The checkpoint's size, from its signed text (not the stored size beside it). */
const signedSize = (stored: StoredCheckpoint): number =>
  parseCheckpointText(stored.note.slice(0, stored.note.indexOf('\n\n') + 1)).size;

/**
 * The latest checkpoint, after waiting at most `waitMs` for one that covers `newestId` (its leaf,
 * by the sequencer's advisory index, is inside the checkpoint). Each poll is two item reads.
 */
const coveringCheckpoint = async (
  deps: TlogExportDependencies,
  tenant: string,
  newestId: number,
): Promise<StoredCheckpoint | undefined> => {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = deps.clock() + deps.waitMs;
  for (;;) {
    const [stored, index] = await Promise.all([
      deps.reader.latestCheckpoint(tenant),
      newestId > 0 && deps.waitMs > 0 ? deps.reader.leafIndexOf(tenant, newestId) : Promise.resolve(-1),
    ]);
    const covered = stored !== undefined && index !== undefined && index < signedSize(stored);
    if (covered || deps.clock() >= deadline) return stored;
    await sleep(POLL_MS);
  }
};

/**
 * The verifiable log's file for a download zip (`tlog-proof.jsonl`, see `domain/tlog/proof-file.ts`),
 * added after the dialect's document through the exports' trailing-files seam, as a stream: the
 * leaves are read a tile at a time, the entries a page at a time (or, when the export kept them
 * aside, as the proof file's own lines, `keep`) and the receipts a query page at a time, so its
 * memory does not grow with the tenant. None when the tenant has no checkpoint yet (nothing
 * sequenced).
 */
export const tlogTrailingFiles = (deps: TlogExportDependencies): TrailingFiles => {
  const files: TrailingFiles = async ({
    tenant,
    snapshotMaxId,
    exported,
  }): Promise<readonly ZipTrailingFile[]> => {
    const [verifier, stored] = await Promise.all([
      deps.verifier(),
      coveringCheckpoint(deps, tenant, snapshotMaxId),
    ]);
    if (!stored) return [];
    const treeSize = signedSize(stored);
    return [
      {
        name: TLOG_PROOF_FILE,
        content: writeProofFile({
          origin: tenantOrigin(deps.origin, tenant),
          verifier,
          checkpoint: stored.note,
          treeSize,
          snapshotMaxId,
          leaves: leafTiles(deps.reader, tenant, treeSize),
          // The exported entries as the export kept them (no second read of the store), then any
          // written since; else every entry from the store.
          entries: exported
            ? concat<readonly AuditRecord[] | readonly string[]>(
                exported(),
                entryPages(deps.events, tenant, snapshotMaxId + 1),
              )
            : entryPages(deps.events, tenant),
          receipts: deps.reader.receipts(tenant),
        }),
      },
    ];
  };
  return Object.assign(files, { keep: proofEntryLine });
};
