import type { AuditRecord } from '../domain/record.js';
import type { Hash } from '../domain/tlog/merkle.js';
import type { TileReader } from '../domain/tlog/tiles.js';

/**
 * The verifiable log (tamper evidence): per tenant an append-only RFC 9162 Merkle tree over its
 * entries, in the order the sequencer (a derivation step) fixed, stored as C2SP hash tiles, and the
 * latest signed checkpoint. See docs/architecture.md, "The verifiable log".
 */

/** A tenant's tree as sequenced: how many leaves and their root. */
export interface TreeHead {
  readonly size: number;
  readonly root: Hash;
}

/** A head a stream consumer committed, and whether it stored that head's checkpoint in the same transaction. */
export interface CommittedHead {
  readonly head: TreeHead;
  readonly checkpointed: boolean;
}

/** A signed checkpoint as stored: its tree size and its C2SP signed-note text. */
export interface StoredCheckpoint {
  readonly size: number;
  readonly note: string;
}

/** Reads a tenant's log. */
export interface TlogReader {
  head(tenant: string): Promise<TreeHead | undefined>;
  /** The tenant's tiles (consistent reads). */
  tiles(tenant: string): TileReader;
  /**
   * The leaf index the sequencer gave an entry, if it did (written in the same transaction as the
   * append, so it is exact; an inclusion proof still answers the leaf hash it proves, which a
   * client compares with the entry's own).
   */
  leafIndexOf(tenant: string, entryId: number): Promise<number | undefined>;
  /** {@link leafIndexOf} for many entries at once: entry id → leaf index, for those that have one. */
  leafIndexesOf(tenant: string, entryIds: readonly number[]): Promise<Map<number, number>>;
  latestCheckpoint(tenant: string): Promise<StoredCheckpoint | undefined>;
  /**
   * The tenant's signed purge receipts (C2SP signed notes), a page at a time (so a tenant with
   * many purges is never held whole), in job and segment order; only `jobId`'s when given.
   */
  receipts(tenant: string, jobId?: string): AsyncIterable<string[]>;
}

/** Stores a signed checkpoint unless a checkpoint of at least its size is stored already. */
export interface CheckpointWriter {
  saveCheckpoint(tenant: string, checkpoint: StoredCheckpoint): Promise<void>;
}

/** Keeps a purge segment's signed receipt (a retry overwrites it with one of the same entries). */
export interface ReceiptWriter {
  /** `receiptId` names the purge job and segment; receipts list in its order. */
  saveReceipt(tenant: string, receiptId: string, receipt: string): Promise<void>;
}

/** What a purge asks of the verifiable log: a signed receipt for each segment it deletes. */
export interface PurgeReceipts {
  /** Signs and keeps the receipt of a segment's entries; called before they are deleted. */
  issue(
    tenant: string,
    segment: { readonly jobId: string; readonly lastId: number; readonly throughId: number },
    records: readonly AuditRecord[],
  ): Promise<void>;
}
