import type { TrailingFiles, ZipTrailingFile } from '../domain/export.js';
import { MAX_ID } from '../domain/ids.js';
import type { AuditRecord } from '../domain/record.js';
import { parseCheckpointText } from '../domain/tlog/checkpoint.js';
import { tenantOrigin } from '../domain/tlog/entry-leaf.js';
import type { Hash } from '../domain/tlog/merkle.js';
import type { NoteVerifier } from '../domain/tlog/note.js';
import { buildProofFile, TLOG_PROOF_FILE, type TlogProofFile } from '../domain/tlog/proof-file.js';
import { TILE_WIDTH } from '../domain/tlog/tiles.js';
import type { EventStore } from '../ports/event-store.js';
import type { TlogReader } from '../ports/tlog.js';

export interface TlogExportDependencies {
  readonly reader: TlogReader;
  readonly events: Pick<EventStore, 'queryPage'>;
  readonly verifier: () => Promise<NoteVerifier>;
  /** The service's log origin. */
  readonly origin: string;
  readonly clock: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * How long to wait for the sequencer to cover every exported entry (it runs seconds behind the
   * writes) before the proof file lists the rest as not yet covered.
   */
  readonly waitMs: number;
}

const PAGE = 1000;
const POLL_MS = 100;

/** The tree's leaves [0, size), read a full tile (256 leaves) at a time. */
const readLeaves = async (reader: TlogReader, tenant: string, size: number): Promise<Hash[]> => {
  const tiles = reader.tiles(tenant);
  const leaves: Hash[] = [];
  for (let tile = 0; tile * TILE_WIDTH < size; tile += 1) {
    const width = Math.min(TILE_WIDTH, size - tile * TILE_WIDTH);
    const hashes = await tiles(0, tile, width);
    for (let position = 0; position < width; position += 1)
      leaves.push(hashes.subarray(position * 32, (position + 1) * 32));
  }
  return leaves;
};

/** Every entry of the tenant as stored now, oldest first. */
const readRecords = async (events: Pick<EventStore, 'queryPage'>, tenant: string): Promise<AuditRecord[]> => {
  const records: AuditRecord[] = [];
  let minId = 0;
  for (;;) {
    const { records: page } = await events.queryPage({
      tenant,
      selector: { kind: 'all' },
      minId,
      maxId: MAX_ID,
      newestFirst: false,
      limit: PAGE,
      consistent: true,
    });
    records.push(...page);
    const last = page[page.length - 1];
    if (page.length < PAGE || !last) return records;
    minId = last.id + 1;
  }
};

/**
 * The verifiable log's file for a download zip (`tlog-proof.json`, see `domain/tlog/proof-file.ts`),
 * added after the dialect's document through the exports' trailing-files seam. None when the
 * tenant has no checkpoint yet (nothing sequenced). Held in memory: about 100 bytes per leaf plus
 * each entry's canonical JSON.
 */
export const tlogTrailingFiles =
  (deps: TlogExportDependencies): TrailingFiles =>
  async ({ tenant, snapshotMaxId }): Promise<readonly ZipTrailingFile[]> => {
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const [verifier, records] = await Promise.all([deps.verifier(), readRecords(deps.events, tenant)]);
    const receipts = await deps.reader.receipts(tenant);
    const deadline = deps.clock() + deps.waitMs;
    for (;;) {
      const stored = await deps.reader.latestCheckpoint(tenant);
      let file: TlogProofFile | undefined;
      if (stored) {
        const size = parseCheckpointText(stored.note.slice(0, stored.note.indexOf('\n\n') + 1)).size;
        file = buildProofFile({
          origin: tenantOrigin(deps.origin, tenant),
          verifier,
          checkpoint: stored.note,
          snapshotMaxId,
          leaves: await readLeaves(deps.reader, tenant, size),
          records,
          receipts,
        });
      }
      if ((file && file.unlogged.length === 0) || deps.clock() >= deadline) {
        return file
          ? [{ name: TLOG_PROOF_FILE, content: Buffer.from(`${JSON.stringify(file)}\n`, 'utf8') }]
          : [];
      }
      await sleep(POLL_MS);
    }
  };
