/**
 * Derivation: what is built from the events table's change stream behind the request path
 * (rollup counters, the verifiable log's sequencer and its checkpoints). See docs/architecture.md,
 * "The write path" and "The verifiable log".
 */

/** One change of the events table, as its stream delivers it (images already unmarshalled). */
export interface ChangeRecord {
  /** Unique per stream record; the journal's identity for it. */
  readonly eventId: string;
  /** The stream's sequence number: what a partial batch response names to resume from. */
  readonly sequenceNumber: string;
  readonly kind: 'insert' | 'modify' | 'remove';
  readonly newImage?: Readonly<Record<string, unknown>>;
  readonly oldImage?: Readonly<Record<string, unknown>>;
}

/**
 * The key and members of one applied chunk: a step writes it atomically with the chunk's effects,
 * so "is this record's effect applied?" has an exact answer after any crash.
 */
export interface JournalEntry {
  readonly step: string;
  /** The event id of the chunk's first record. */
  readonly key: string;
  /** The event ids of the chunk's records, in stream order. */
  readonly members: readonly string[];
}

/** Where steps record which chunks of the stream they applied. */
export interface DerivationJournal {
  /** The members of the entry of `step` keyed by `eventId`, if there is one. */
  find(step: string, eventId: string): Promise<readonly string[] | undefined>;
  /**
   * Records that the members from `entry.key` on were applied as part of an earlier entry, so that
   * a retry starting at `entry.key` (a bisected or resumed batch) finds them.
   */
  alias(entry: JournalEntry): Promise<void>;
}

/** Packs records into one chunk while they fit one atomic write. */
export interface ChunkPacker {
  add(record: ChangeRecord): boolean;
}

/** The most records in one chunk unless its step says otherwise: what one journal entry lists. */
export const MAX_CHUNK_RECORDS = 100;

/**
 * One thing derived from the stream. Steps run in order over a delivery, each in chunks of its
 * own (what one atomic write of that step holds).
 */
export interface DerivationStep {
  /** Stable name: part of its journal keys. */
  readonly name: string;
  /** The most records one chunk of this step holds (MAX_CHUNK_RECORDS when not said). */
  readonly maxChunkRecords?: number;
  /**
   * Starts packing a chunk: the packer's `add` answers false when a record would no longer fit in
   * one atomic write of this step (the record is then not added).
   */
  packer(): ChunkPacker;
  /**
   * Applies the chunk's effects together with `entry`, atomically: both or neither. Resolves
   * `'duplicate'` when `entry` already exists (another invocation applied the chunk first).
   */
  apply(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<'applied' | 'duplicate'>;
}

/** One step's chunk in a joint commit: the same records as the other parts'. */
export interface JointPart {
  readonly step: DerivationStep;
  readonly chunk: readonly ChangeRecord[];
  readonly entry: JournalEntry;
}

/**
 * Applies several steps' chunks of the same records in one atomic write, each with its journal
 * entry: a small delivery that every step takes whole then costs one write, not one per step.
 */
export interface JointCommit {
  /**
   * True when every part was applied, together. False when they do not fit one atomic write, a step
   * cannot join one, or the write failed: each step then applies its chunk on its own, where its
   * journal entry tells whether the failed write had applied it after all.
   */
  apply(parts: readonly JointPart[]): Promise<boolean>;
}

/**
 * Work done once per delivery, after its chunks (the verifiable log's checkpoints): not journaled,
 * so it must be idempotent and must bring the store up to date with everything the steps applied,
 * whether this delivery or an earlier one applied it. When it fails, the whole delivery is handed
 * back (every step then skips what it applied) so that it runs again.
 */
export interface DeliveryFollowUp {
  readonly name: string;
  /**
   * Runs over the records every step has applied (`records`, a prefix of the delivery), of which
   * the first `earlier` were applied before this delivery (by an earlier one, maybe elsewhere).
   */
  run(records: readonly ChangeRecord[], earlier: number): Promise<void>;
}
