import type { ArchiveManifest, ArchivePart } from '../domain/purge.js';
import type { AuditRecord } from '../domain/record.js';

/**
 * Where purged entries are kept (S3). Every method takes the authenticated tenant and builds the
 * object key from it, so no key a caller sends can reach another tenant's objects.
 */
export interface ArchiveStore {
  /** Writes one gzip JSON Lines part holding `records` (ascending ids); replaces a part with the same first id. */
  writePart(
    tenant: string,
    jobId: string,
    records: readonly AuditRecord[],
    now: number,
  ): Promise<ArchivePart>;
  /** The records of a part written before, in order. */
  readPart(tenant: string, part: ArchivePart): Promise<AuditRecord[]>;
  readManifest(tenant: string, jobId: string): Promise<ArchiveManifest | undefined>;
  writeManifest(manifest: ArchiveManifest): Promise<void>;
  /**
   * Writes the job's verifiable-log proof file (public key `<job>.tlog-proof.jsonl`) from a stream
   * of chunks, replacing any earlier one.
   */
  writeProof(tenant: string, jobId: string, content: AsyncIterable<Uint8Array>): Promise<void>;
  /** Deletes part objects of a job that its manifest does not list (left by a crash before the manifest was written). */
  removeUnlisted(manifest: ArchiveManifest): Promise<number>;
  /** Every manifest of a tenant, oldest job first. */
  listManifests(tenant: string): Promise<ArchiveManifest[]>;
}

/**
 * Links to archived objects, apart from the store so the functions that write archives carry no
 * presigning code. Public keys, as in {@link ArchiveStore}, under the tenant's own prefix.
 */
export interface ArchiveLinks {
  /** True when the object behind a public key exists for this tenant. */
  exists(tenant: string, key: string): Promise<boolean>;
  /** A presigned GET of the object behind a public key, as an attachment named `filename`. */
  presign(tenant: string, key: string, filename: string, expiresInSeconds: number): Promise<string>;
}
