import { signCheckpoint } from '../domain/tlog/checkpoint.js';
import { entryLeafHash, tenantOrigin } from '../domain/tlog/entry-leaf.js';
import type { NoteSigner } from '../domain/tlog/note.js';
import { signReceipt } from '../domain/tlog/receipt.js';
import type { ChangeRecord, DeliveryFollowUp } from '../ports/derivation.js';
import type {
  CheckpointWriter,
  CommittedHead,
  PurgeReceipts,
  ReceiptWriter,
  TlogReader,
  TreeHead,
} from '../ports/tlog.js';

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
  await deps.writer.saveCheckpoint(tenant, { size: head.size, note: await signHead(deps, tenant, head) });
};

/** The signed checkpoint note of the tenant's tree `head`. */
export const signHead = async (
  deps: CheckpointDependencies,
  tenant: string,
  head: TreeHead,
): Promise<string> => {
  const timestamp = Math.floor((deps.clock ?? Date.now)() / 1000);
  return signCheckpoint(
    {
      origin: tenantOrigin(deps.origin, tenant),
      size: head.size,
      root: head.root,
      // Signed with the rest: when the service saw this tree (seconds since the epoch).
      extensions: [`timestamp ${timestamp}`],
    },
    [await deps.signer()],
  );
};

/** Tenants whose last signed size a consumer remembers (a bound on its memory). */
const MAX_SIGNED_TENANTS = 10_000;

/**
 * Signs a checkpoint, once per delivery of stream records (not per chunk), of each tenant the
 * delivery holds entries of, unless the latest checkpoint covers the tree already (usually the
 * sequencer stored one in its last transaction, and this does nothing). A tenant this
 * consumer just appended to is signed from the head it committed (`committedHead`: no read; the
 * stored checkpoint is only replaced by a larger one, so a head another consumer moved past is
 * harmless), any other (or one with entries an earlier delivery applied) from the stored head.
 * Not journaled: it runs after every delivery, over
 * every record the steps hold applied, including those an earlier delivery applied (a crash
 * before this ran), so every sequenced entry is covered by the end of the delivery that holds it.
 */
export class CheckpointFollowUp implements DeliveryFollowUp {
  readonly name = 'checkpoint';
  readonly #deps: CheckpointDependencies;
  readonly #tenantOf: (record: ChangeRecord) => string | undefined;
  readonly #committedHead: (tenant: string) => CommittedHead | undefined;
  /** The size this consumer last saw checkpointed per tenant. */
  readonly #signed = new Map<string, number>();

  constructor(
    deps: CheckpointDependencies,
    /** The tenant of an entry the sequencer appends, else undefined. */
    tenantOf: (record: ChangeRecord) => string | undefined,
    /**
     * The head this consumer's sequencer last committed for a tenant, if it remembers one, and
     * whether that commit stored its checkpoint too.
     */
    committedHead: (tenant: string) => CommittedHead | undefined = () => undefined,
  ) {
    this.#deps = deps;
    this.#tenantOf = tenantOf;
    this.#committedHead = committedHead;
  }

  async run(records: readonly ChangeRecord[], earlier: number): Promise<void> {
    // A tenant with entries an earlier delivery applied may have been appended to by another
    // consumer (one that died before checkpointing): what this one remembers proves nothing there.
    const tenants = new Map<string, boolean>();
    for (const [position, record] of records.entries()) {
      const tenant = this.#tenantOf(record);
      if (tenant !== undefined) tenants.set(tenant, (tenants.get(tenant) ?? false) || position < earlier);
    }
    await Promise.all([...tenants].map(([tenant, stale]) => this.#checkpoint(tenant, stale)));
  }

  async #checkpoint(tenant: string, stale: boolean): Promise<void> {
    const committed = stale ? undefined : this.#committedHead(tenant);
    if (!committed) {
      this.#signed.delete(tenant);
      await checkpointTenant(this.#deps, tenant);
      return;
    }
    const { head } = committed;
    if (committed.checkpointed || (this.#signed.get(tenant) ?? -1) >= head.size) return;
    await this.#deps.writer.saveCheckpoint(tenant, {
      size: head.size,
      note: await signHead(this.#deps, tenant, head),
    });
    if (this.#signed.size > MAX_SIGNED_TENANTS) this.#signed.clear();
    this.#signed.set(tenant, head.size);
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
