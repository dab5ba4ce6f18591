import { hash as oneShotHash } from 'node:crypto';
import { parseSelfAuditLine, type SelfAuditRecord } from '../domain/self-audit-line.js';
import { internalIdempotencyKey } from '../ports/idempotency-store.js';
import { appendOnce, type IngestDependencies } from './ingest-events.js';

/**
 * How long a self-audit record's claim lives: past the longest a delivery can repeat (Lambda's
 * asynchronous retries for up to 6 hours, then a replay from the consumer's 14-day failure queue).
 */
export const SELF_AUDIT_CLAIM_SECONDS = 15 * 86_400;

/** Records stored at once. */
const CONCURRENCY = 8;

/** What one batch of lines came to. */
export interface SelfAuditBatchOutcome {
  /** Records stored by this batch, or found stored by an earlier delivery. */
  readonly stored: number;
  /** Lines that were not self-audit records (other log lines, cut or unknown lines). */
  readonly skipped: number;
}

/** A batch in which some records could not be stored: deliver it again (the rest are stored once). */
export class SelfAuditBatchError extends Error {
  override readonly name = 'SelfAuditBatchError';
  constructor(
    readonly failed: number,
    readonly total: number,
    options?: { cause?: unknown },
  ) {
    super(`${failed} of ${total} self-audit records could not be stored`, options);
  }
}

/**
 * Stores the self-audit records among `lines` (a CloudWatch Logs delivery's messages, or a local
 * journal's lines): each once, under its key, however often the line is delivered (the ingest
 * path's idempotent append, claimed under `self-audit\0<key>`). The entry keeps the call's time.
 * Lines that are not records are skipped and counted, never a reason to fail the batch. Throws
 * {@link SelfAuditBatchError} when a record could not be stored, after trying every other one: the
 * whole batch is to be delivered again.
 */
export const storeSelfAuditLines = async (
  deps: IngestDependencies,
  lines: readonly string[],
): Promise<SelfAuditBatchOutcome> => {
  const records = new Map<string, SelfAuditRecord>();
  let skipped = 0;
  for (const line of lines) {
    const record = parseSelfAuditLine(line);
    if (record) records.set(record.key, record);
    else skipped += 1;
  }
  const pending = [...records.values()];
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, pending.length) }, async () => {
      for (let record = pending.shift(); record; record = pending.shift()) {
        try {
          await storeOne(deps, record);
        } catch (error) {
          failures.push(error);
        }
      }
    }),
  );
  if (failures.length > 0)
    throw new SelfAuditBatchError(failures.length, records.size, { cause: failures[0] });
  return { stored: records.size, skipped };
};

const storeOne = async (deps: IngestDependencies, record: SelfAuditRecord): Promise<void> => {
  await appendOnce(
    deps,
    record.tenant,
    [record.draft],
    {
      key: internalIdempotencyKey('self-audit', record.key),
      bodyHash: oneShotHash('sha256', JSON.stringify(record.draft), 'hex'),
    },
    false,
    { lifetimeSeconds: SELF_AUDIT_CLAIM_SECONDS },
  );
};
