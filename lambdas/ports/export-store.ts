import type { Writable } from 'node:stream';
import type { ExportJob } from '../domain/export.js';

/** One object being written, as a stream. */
export interface ExportUpload {
  /** Write the object's bytes here and end it; it applies backpressure while parts upload. */
  readonly stream: Writable;
  /**
   * Settles once the object is stored (resolves) or the upload failed and was cleaned up
   * (rejects): no partial object and no multipart upload are left behind either way. Destroying
   * `stream` cancels the upload.
   */
  readonly done: Promise<void>;
}

/** Where exports (zips too large to answer inline) are stored and handed out from. */
export interface ExportObjectStore {
  /** Starts writing the object at `key`, in bounded memory. */
  startUpload(key: string): ExportUpload;
  /** A short-lived URL that downloads `key` as the export's file name and type. */
  presignDownload(key: string, expiresInSeconds: number): Promise<string>;
  /** True when the object at `key` still exists (exports expire by bucket lifecycle). */
  exists(key: string): Promise<boolean>;
}

/** Export jobs in the control table. */
export interface ExportJobStore {
  /**
   * Stores a new running job and returns it, unless another running job of the tenant (not
   * abandoned) got there first: then nothing is stored and that job is returned, so a tenant has
   * one export job at a time however many downloads start at once.
   */
  create(job: ExportJob): Promise<ExportJob>;
  /** The tenant's job with this id; undefined for an unknown id or another tenant's job. */
  get(tenant: string, jobId: string): Promise<ExportJob | undefined>;
  /** The tenant's most recently created job. */
  latest(tenant: string): Promise<ExportJob | undefined>;
  /** Marks a running job completed with its result. */
  complete(
    tenant: string,
    jobId: string,
    result: Required<Pick<ExportJob, 'objectKey' | 'entries' | 'bytes' | 'snapshotMaxId'>>,
    now: number,
  ): Promise<void>;
  /** Marks a running job failed. */
  fail(tenant: string, jobId: string, message: string, now: number): Promise<void>;
}
