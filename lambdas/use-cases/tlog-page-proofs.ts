import type { AuditRecord } from '../domain/record.js';
import { parseCheckpointText } from '../domain/tlog/checkpoint.js';
import { entryLeafData } from '../domain/tlog/entry-leaf.js';
import { inclusionProof, leafHash, sameHash } from '../domain/tlog/merkle.js';
import { PAGE_PROOFS_FORMAT, type PageEntryProof, type PageProofs } from '../domain/tlog/page-proofs.js';
import { tileNodeReader } from '../domain/tlog/tiles.js';
import type { TlogReader } from '../ports/tlog.js';

/** The query parameter that asks a page for its proofs, and its one value. */
export const PROOFS_PARAMETER = 'proofs';
export const INCLUSION_PROOFS = 'inclusion';

/**
 * The proofs of a page's `records` (see `domain/tlog/page-proofs.ts`) against the tenant's latest
 * checkpoint. Reads the latest checkpoint, the entries' leaf indexes (100 a call) and each tile the
 * proofs touch once: about `records / 100 + log₂₅₆(tree size) · 2` reads for a page, whatever its size.
 * An entry the checkpoint does not cover yet, or whose leaf is not the entry (an entry changed in the
 * table since it was sequenced), is listed as not covered, never proven.
 */
export const pageProofs = async (
  reader: TlogReader,
  tenant: string,
  records: readonly AuditRecord[],
): Promise<PageProofs> => {
  const stored = await reader.latestCheckpoint(tenant);
  if (!stored || records.length === 0) {
    return {
      format: PAGE_PROOFS_FORMAT,
      checkpoint: stored?.note ?? null,
      tree_size: stored?.size ?? 0,
      entries: [],
      unlogged: records.map((record) => record.id),
    };
  }
  const size = parseCheckpointText(stored.note.slice(0, stored.note.indexOf('\n\n') + 1)).size;
  const indexes = await reader.leafIndexesOf(
    tenant,
    records.map((record) => record.id),
  );
  const read = tileNodeReader(reader.tiles(tenant));
  const proven = await Promise.all(
    records.map(async (record): Promise<PageEntryProof | undefined> => {
      const index = indexes.get(record.id);
      if (index === undefined || index >= size) return undefined;
      const data = entryLeafData(record);
      if (!sameHash(await read(0, index), leafHash(data))) return undefined;
      const proof = await inclusionProof(read, index, size);
      return {
        id: record.id,
        leaf_index: index,
        canonical: Buffer.from(data).toString('utf8'),
        proof: proof.map((hash) => Buffer.from(hash).toString('base64')),
      };
    }),
  );
  return {
    format: PAGE_PROOFS_FORMAT,
    checkpoint: stored.note,
    tree_size: size,
    entries: proven.filter((entry): entry is PageEntryProof => entry !== undefined),
    unlogged: records.filter((_, position) => proven[position] === undefined).map((record) => record.id),
  };
};
