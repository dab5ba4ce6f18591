import { randomBytes } from 'node:crypto';
import { toCanaryEntry } from './canary-view.js';
import type { AuditRecord, EventDraft } from './record.js';

/**
 * The canary download (seed 001): a zip named `canary_audit_trail.json.zip` holding one JSON
 * document, `canary_audit_trail.json` = `{"audit_trail":[…]}`, with every entry of the tenant
 * exactly as `fetch` shows it (toCanaryEntry, no `tz`), newest first — the order fetch pages in.
 * The document is written one entry per line so `unzip -p … | head` is readable.
 */
export const EXPORT_ZIP_NAME = 'canary_audit_trail.json.zip';
export const EXPORT_JSON_NAME = 'canary_audit_trail.json';
export const EXPORT_CONTENT_TYPE = 'application/x-zip-compressed';
export const EXPORT_CONTENT_DISPOSITION = `attachment; filename="${EXPORT_ZIP_NAME}"`;

/** The action type of the entry that records each download. */
export const DOWNLOAD_ACTION = 'audit_trail_downloaded';

/** How an export reached the caller. */
export type ExportMode = 'inline' | 's3' | 'job';

/** The document's first bytes, before any entry. */
export const EXPORT_DOCUMENT_HEAD = '{"audit_trail":[';

/** The document's last bytes, after `entries` entries. */
export const exportDocumentTail = (entries: number): string => (entries === 0 ? ']}\n' : '\n]}\n');

/**
 * The text of `records` as they appear in the document: one entry a line, each preceded by ",\n"
 * except the document's very first, preceded by "\n". `firstInDocument` says whether `records[0]`
 * is that first entry. Both export paths write the document through this, so a parallel export's
 * chunks concatenate to exactly what the single-worker export writes.
 */
export const exportLines = (records: readonly AuditRecord[], firstInDocument: boolean): string => {
  const lines: string[] = [];
  let first = firstInDocument;
  for (const record of records) {
    lines.push(`${first ? '\n' : ',\n'}${JSON.stringify(toCanaryEntry(record))}`);
    first = false;
  }
  return lines.join('');
};

/**
 * The JSON document as a stream of UTF-8 chunks, one chunk per page of records, so the export
 * never holds more than a page of it.
 */
export async function* exportDocument(pages: AsyncIterable<readonly AuditRecord[]>): AsyncGenerator<Buffer> {
  yield Buffer.from(EXPORT_DOCUMENT_HEAD, 'utf8');
  let entries = 0;
  for await (const records of pages) {
    if (records.length === 0) continue;
    yield Buffer.from(exportLines(records, entries === 0), 'utf8');
    entries += records.length;
  }
  yield Buffer.from(exportDocumentTail(entries), 'utf8');
}

/**
 * A file added to an export's zip after the JSON document: its whole content, or its content as a
 * stream of chunks (read once, while the zip is written, so a large file is never held whole).
 */
export interface ZipTrailingFile {
  readonly name: string;
  readonly content: Buffer | AsyncIterable<Uint8Array>;
}

/**
 * The seam for files beside the document (the verifiable log's proof file): given what the export
 * holds, the files to add after it. Both export paths take one.
 */
export interface TrailingFiles {
  (contents: {
    readonly tenant: string;
    /** The newest id in the export; 0 for an empty one. */
    readonly snapshotMaxId: number;
    readonly entries: number;
    /**
     * The exported entries again, newest first, as the lines {@link TrailingFiles.keep} made of
     * them (without newlines), a page at a time, when the export kept them aside (the
     * single-worker export spills them to a scratch file as it writes the document, so a trailing
     * file need not read the store a second time); absent otherwise. Read at most once, while the
     * trailing files are written.
     */
    readonly exported?: () => AsyncIterable<readonly string[]>;
  }): Promise<readonly ZipTrailingFile[]>;
  /**
   * What an export that keeps its entries aside keeps of each: one line of text (no newline), in
   * the form the files write it, so reading them back needs no parse and no rewrite per entry.
   * Without it nothing is kept.
   */
  readonly keep?: (record: AuditRecord) => string;
}

/** Export and job ids: "exp_" + time (base 36, sortable) + 48 random bits. */
const EXPORT_ID_PATTERN = /^exp_[0-9a-z]{9}[0-9a-f]{12}$/;

/** A new export id; later ids sort after earlier ones, so a tenant's newest job is its last. */
export const newExportId = (now: number): string =>
  `exp_${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;

export const isExportId = (text: string): boolean => EXPORT_ID_PATTERN.test(text);

/** Where an export's zip is stored: under its tenant's prefix, so tenants never share a key. */
export const exportObjectKey = (tenant: string, exportId: string): string =>
  `exports/${tenant}/${exportId}/${EXPORT_ZIP_NAME}`;

/** An export job (an export that outgrew its request's time budget), as kept in the control table. */
export interface ExportJob {
  readonly tenant: string;
  readonly jobId: string;
  readonly status: 'running' | 'completed' | 'failed';
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Set when completed. */
  readonly objectKey?: string;
  readonly entries?: number;
  readonly bytes?: number;
  /** The newest id in the export (its snapshot bound); 0 for an empty export. */
  readonly snapshotMaxId?: number;
  /** Why it failed (safe to show). */
  readonly message?: string;
  /** A parallel export's progress: chunks stored so far, of how many. */
  readonly progress?: { readonly chunksDone: number; readonly chunks: number };
}

/**
 * A running job whose workers have not reported for this long is taken as lost (a Lambda worker
 * lives at most 15 minutes, and a parallel export's chunks each report when done); a new
 * download then starts a new export.
 */
export const JOB_ABANDONED_AFTER_MS = 16 * 60_000;

/**
 * What a download request does with the tenant's newest export job:
 * - `wait`: it is still running → answer 202 with it again (no second export of the same data);
 * - `serve`: it completed less than `reuseMs` ago → answer 303 to its zip;
 * - `export`: there is none, it failed, it was lost, or it is older → export afresh.
 *
 * So `curl -L` retried after a 202 gets the export its first request started, even for a tenant
 * that keeps receiving entries (a rule like "only while no newer entry exists" would never let a
 * busy tenant's retry converge, and its own download records are newer entries). The zip is a
 * snapshot: it holds the entries up to its job's `snapshotMaxId`, at most `reuseMs` old.
 */
export const reuseDecision = (
  job: ExportJob | undefined,
  now: number,
  reuseMs: number,
): 'wait' | 'serve' | 'export' => {
  if (!job) return 'export';
  if (job.status === 'running') return now - job.updatedAt < JOB_ABANDONED_AFTER_MS ? 'wait' : 'export';
  if (job.status === 'completed' && job.objectKey !== undefined && now - job.updatedAt < reuseMs)
    return 'serve';
  return 'export';
};

/** The audit entry that records a download (written after the export's snapshot was read). */
export const downloadRecordDraft = (details: {
  readonly tokenId: string;
  readonly tokenName: string;
  readonly entries: number;
  readonly mode: ExportMode;
  readonly bytes: number;
  readonly snapshotMaxId: number;
  readonly jobId?: string;
}): EventDraft => ({
  action_type: DOWNLOAD_ACTION,
  category: 'Audit trail',
  message: `Audit trail downloaded: ${details.entries} ${details.entries === 1 ? 'entry' : 'entries'} (${details.mode})`,
  api_key: { id: details.tokenId, name: details.tokenName },
  additional_information: {
    entries: details.entries,
    mode: details.mode,
    bytes: details.bytes,
    snapshot_max_id: details.snapshotMaxId,
    ...(details.jobId !== undefined ? { job_id: details.jobId } : {}),
  },
});
