import { signCheckpoint } from '../domain/tlog/checkpoint.js';
import { entryLeafHash, tenantOrigin } from '../domain/tlog/entry-leaf.js';
import type { NoteSigner } from '../domain/tlog/note.js';
import { signReceipt } from '../domain/tlog/receipt.js';
import type {
  ChangeRecord,
  ChunkPacker,
  DerivationJournal,
  DerivationStep,
  JournalEntry,
} from '../ports/derivation.js';
import type { CheckpointWriter, PurgeReceipts, ReceiptWriter, TlogReader } from '../ports/tlog.js';

export interface CheckpointDependencies {
  readonly reader: TlogReader;
  readonly writer: CheckpointWriter;
  /** The checkpoint signer (read once: a KMS key's public half is fetched on first use). */
  readonly signer: () => Promise<NoteSigner>;
  /** The service's log origin; a tenant's log is `<origin>/<tenant>`. */
  readonly origin: string;
  readonly clock?: () => number;
}

/**
 * Signs a checkpoint of the tenant's tree as it stands, unless the latest checkpoint covers it
 * already. Safe to repeat and to run concurrently: a checkpoint is only ever replaced by a larger one.
 */
export const checkpointTenant = async (deps: CheckpointDependencies, tenant: string): Promise<void> => {
  const [head, latest] = await Promise.all([deps.reader.head(tenant), deps.reader.latestCheckpoint(tenant)]);
  if (!head || (latest && latest.size >= head.size)) return;
  const timestamp = Math.floor((deps.clock ?? Date.now)() / 1000);
  const note = await signCheckpoint(
    {
      origin: tenantOrigin(deps.origin, tenant),
      size: head.size,
      root: head.root,
      // Signed with the rest: when the service saw this tree (seconds since the epoch).
      extensions: [`timestamp ${timestamp}`],
    },
    [await deps.signer()],
  );
  await deps.writer.saveCheckpoint(tenant, { size: head.size, note });
};

/**
 * The derivation step after the sequencer: for each tenant a chunk appended to, a signed
 * checkpoint of its new tree, so a checkpoint covers new entries as soon as the consumer has
 * sequenced them. Checkpointing is idempotent, so the journal entry is written after it (a crash
 * between the two signs again, which changes nothing).
 */
export class CheckpointStep implements DerivationStep {
  readonly name = 'checkpoint';
  readonly #deps: CheckpointDependencies;
  readonly #journal: DerivationJournal;
  readonly #tenantOf: (record: ChangeRecord) => string | undefined;

  constructor(
    deps: CheckpointDependencies,
    journal: DerivationJournal,
    /** The tenant of an entry the sequencer appends, else undefined. */
    tenantOf: (record: ChangeRecord) => string | undefined,
  ) {
    this.#deps = deps;
    this.#journal = journal;
    this.#tenantOf = tenantOf;
  }

  packer(): ChunkPacker {
    return { add: () => true };
  }

  async apply(chunk: readonly ChangeRecord[], entry: JournalEntry): Promise<'applied' | 'duplicate'> {
    const tenants = new Set<string>();
    for (const record of chunk) {
      const tenant = this.#tenantOf(record);
      if (tenant !== undefined) tenants.add(tenant);
    }
    await Promise.all([...tenants].map((tenant) => checkpointTenant(this.#deps, tenant)));
    await this.#journal.alias(entry);
    return 'applied';
  }
}

/**
 * Purge receipts: for each purge segment, a receipt naming its entries' leaf hashes, signed and
 * kept before the entries are deleted (a segment re-run after a crash signs the same entries again
 * under the same id). A verifier then accepts those leaves without their entries.
 */
export const purgeReceipts = (
  deps: Pick<CheckpointDependencies, 'reader' | 'signer' | 'origin'> & { readonly writer: ReceiptWriter },
): PurgeReceipts => ({
  issue: async (tenant, segment, records) => {
    if (records.length === 0) return;
    const head = await deps.reader.head(tenant);
    const note = await signReceipt(
      {
        origin: tenantOrigin(deps.origin, tenant),
        jobId: segment.jobId,
        segment: segment.lastId,
        throughId: segment.throughId,
        treeSize: head?.size ?? 0,
        leaves: records.map(entryLeafHash),
      },
      [await deps.signer()],
    );
    await deps.writer.saveReceipt(
      tenant,
      `${segment.jobId}#${String(segment.lastId).padStart(20, '0')}`,
      note,
    );
  },
});
