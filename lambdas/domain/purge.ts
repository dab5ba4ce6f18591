import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { BadRequestError } from './errors.js';
import { lastIdAt, MAX_ID } from './ids.js';
import { parseCanonicalInteger } from './integers.js';
import type { AuditRecord } from './record.js';
import { DAY_MS } from './time.js';

/** The action type of the entry that records a purge in the purged tenant's own trail. */
export const PURGE_ACTION = 'audit_trail_purged';

/** A job stays `running` through crashes and timeouts (it is resumed, never abandoned) until it completes. */
export type PurgeStatus = 'running' | 'completed';

/** A purge job as kept in the control table: the checkpoint is what makes it resumable. */
export interface PurgeJob {
  readonly tenant: string;
  readonly jobId: string;
  /** Every entry with id ≤ throughId is deleted. */
  readonly throughId: number;
  readonly status: PurgeStatus;
  /** Entries deleted so far, over every run of the job. */
  readonly deleted: number;
  /** The largest id deleted so far (entries ≤ it are gone); -1 before the first batch. */
  readonly checkpoint: number;
  /** Whether deleted entries are archived to S3 first (fixed when the job starts). */
  readonly archive: boolean;
  /** Who started it: a token id, or "retention" for the scheduler. */
  readonly startedBy: string;
  readonly startedByName: string;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
  /** Set while a segment is half done: the checkpoint it leads to (see the purge store). */
  readonly pending?: number;
  /** When the purge was written to the tenant's own audit trail (after its deletes). */
  readonly recordedAt?: number;
}

/**
 * Parses the purge `id` parameter: a canonical decimal integer 0 ≤ id ≤ 2^53 − 1 (the grammar of
 * every numeric parameter, see CANONICAL_INTEGER). Signs, leading zeros, fractions, exponents,
 * spaces and numbers beyond 2^53 − 1 are 400s naming `id`, refused before anything is read.
 */
export const parsePurgeId = (text: string | undefined): number => {
  if (text === undefined || text.length === 0) {
    throw new BadRequestError('id is required: the id of the newest entry to delete', { field: 'id' });
  }
  const value = parseCanonicalInteger(text, 0, MAX_SAFE_ID);
  if (value === undefined) {
    throw new BadRequestError(`id must be an integer from 0 to ${MAX_SAFE_ID}`, { field: 'id' });
  }
  return value;
};

export const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER;

/**
 * A purge's job id follows from what it purges and how many times it was asked for after the
 * previous job of that id completed: `pj-<id>` for the first job, `pj-<id>-<run>` (run ≥ 2) for
 * each later one. So the same purge asked again while its job is unfinished finds that job (and
 * resumes it), and asked again after it completed, with entries ≤ id written since (back-dated
 * imports, or an id in the future), starts the next job. Job ids are scoped to their tenant.
 */
export const purgeJobId = (throughId: number, run = 1): string =>
  run <= 1 ? `pj-${throughId}` : `pj-${throughId}-${run}`;

/** The largest run number a job id may carry. */
export const MAX_PURGE_RUN = 999_999;

const JOB_ID = /^pj-(\d{1,16})(?:-([2-9]|[1-9]\d{1,5}))?$/;

/** True for strings shaped like a purge job id (anything else is a 404 without a lookup). */
export const isPurgeJobId = (text: string): boolean => {
  const match = JOB_ID.exec(text);
  return match !== null && Number(match[1]) <= MAX_ID;
};

/** The run number of a job id (1 for `pj-<id>`). */
export const purgeRunOf = (jobId: string): number => {
  const match = JOB_ID.exec(jobId);
  return match?.[2] !== undefined ? Number(match[2]) : 1;
};

/** The id through which retention purges: the newest id older than `retentionDays` before `now`. */
export const retentionThroughId = (now: number, retentionDays: number): number =>
  lastIdAt(now - retentionDays * DAY_MS - 1);

/** One gzip JSON Lines part of an archive, as its manifest lists it. */
export interface ArchivePart {
  /** The public key (what the archives endpoints show and accept). */
  readonly key: string;
  readonly firstId: number;
  readonly lastId: number;
  readonly count: number;
  /** Size of the gzip object in bytes. */
  readonly size: number;
  /** SHA-256 (hex) of the gzip object. */
  readonly sha256: string;
  readonly created: number;
}

/** What one purge run archived: its id range, count and each part's checksum. */
export interface ArchiveManifest {
  readonly version: 1;
  readonly tenant: string;
  readonly jobId: string;
  readonly throughId: number;
  readonly created: number;
  readonly parts: readonly ArchivePart[];
}

const ID_WIDTH = 16;
const padId = (id: number): string => String(id).padStart(ID_WIDTH, '0');

/**
 * Public archive keys: `<job id>.<first id, 16 digits>.jsonl.gz` for a part and
 * `<job id>.manifest.json` for a manifest. Parts are keyed by their first id, so rewriting a part
 * after a crash replaces it instead of adding a copy.
 */
export const partKey = (jobId: string, firstId: number): string => `${jobId}.${padId(firstId)}.jsonl.gz`;
export const manifestKey = (jobId: string): string => `${jobId}.manifest.json`;
/** The public key of an archive's verifiable-log proof file (`domain/tlog/archive-proof.ts`). */
export const archiveProofKey = (jobId: string): string => `${jobId}.tlog-proof.jsonl`;

/** A public archive key taken apart; undefined for anything that is not one (slashes, "..", …). */
export type ParsedArchiveKey =
  | { readonly kind: 'part'; readonly jobId: string; readonly firstId: number }
  | { readonly kind: 'manifest'; readonly jobId: string }
  | { readonly kind: 'proof'; readonly jobId: string };

const PART_KEY = /^(pj-\d{1,16}(?:-\d{1,6})?)\.(\d{16})\.jsonl\.gz$/;
const MANIFEST_KEY = /^(pj-\d{1,16}(?:-\d{1,6})?)\.manifest\.json$/;
const PROOF_KEY = /^(pj-\d{1,16}(?:-\d{1,6})?)\.tlog-proof\.jsonl$/;

export const parseArchiveKey = (key: string): ParsedArchiveKey | undefined => {
  if (key.length > 90) return undefined;
  const part = PART_KEY.exec(key);
  if (part?.[1] && part[2] && isPurgeJobId(part[1])) {
    const firstId = Number(part[2]);
    if (Number.isSafeInteger(firstId)) return { kind: 'part', jobId: part[1], firstId };
  }
  const manifest = MANIFEST_KEY.exec(key);
  if (manifest?.[1] && isPurgeJobId(manifest[1])) return { kind: 'manifest', jobId: manifest[1] };
  const proof = PROOF_KEY.exec(key);
  if (proof?.[1] && isPurgeJobId(proof[1])) return { kind: 'proof', jobId: proof[1] };
  return undefined;
};

/** One archive line: the record's canonical JSON (RFC 8785), hash included, so it can be verified. */
export const archiveLine = (record: AuditRecord): string => {
  const text = canonicalize(record);
  if (text === undefined) throw new TypeError('record cannot be canonicalized');
  return text;
};

/** SHA-256 (hex) of bytes. */
export const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** A manifest with `part` added, replacing a part with the same first id (a rewrite after a crash). */
export const withPart = (manifest: ArchiveManifest, part: ArchivePart): ArchiveManifest => ({
  ...manifest,
  parts: [...manifest.parts.filter((existing) => existing.firstId !== part.firstId), part].sort(
    (a, b) => a.firstId - b.firstId,
  ),
});
