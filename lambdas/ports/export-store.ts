import type { Readable, Writable } from 'node:stream';
import type { ExportJob } from '../domain/export.js';
import type { ChunkResult, ExportPlan } from '../domain/export-plan.js';

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
export interface ExportObjectStore extends ExportLinks {
  /** Starts writing the object at `key`, in bounded memory. */
  startUpload(key: string): ExportUpload;
}

/** Hands out stored exports: what a function that only reports finished export jobs needs. */
export interface ExportLinks {
  /** A short-lived URL that downloads `key` as the export's file name and type. */
  presignDownload(key: string, expiresInSeconds: number): Promise<string>;
  /** True when the object at `key` still exists (exports expire by bucket lifecycle). */
  exists(key: string): Promise<boolean>;
}

/**
 * The parts of an export written by separate workers (a parallel export job): one multipart upload
 * that several processes fill. Apart from {@link ExportObjectStore} so that only the export job's
 * functions carry it.
 */
export interface ExportPartStore {
  /**
   * Starts a multipart upload to `key` whose parts are written by separate workers (a parallel
   * export), with the export's content type and disposition; returns its upload id.
   */
  createMultipart(key: string): Promise<string>;
  /**
   * Stores part `partNumber` (1–10,000) from `body` of exactly `length` bytes; a part stored again
   * under the same number replaces the earlier one. Returns its ETag.
   */
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer,
    length: number,
  ): Promise<string>;
  /** Assembles the object from `parts` (ascending part numbers). */
  completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { readonly partNumber: number; readonly etag: string }[],
  ): Promise<void>;
  /** Discards the upload and every part stored under it (quietly when it is already gone). */
  abortMultipart(key: string, uploadId: string): Promise<void>;
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

/** A parallel export job's plan and chunk records, beside the job in the control table. */
export interface ExportPlanStore {
  /** The plan of the tenant's job, once its plan step stored one. */
  plan(tenant: string, jobId: string): Promise<ExportPlan | undefined>;
  /**
   * Stores a running job's plan unless it has one already (a retried plan step); returns the plan
   * that holds.
   */
  savePlan(tenant: string, jobId: string, plan: ExportPlan, now: number): Promise<ExportPlan>;
  /**
   * Records a chunk of a running job as stored, replacing what an earlier attempt of the same
   * chunk recorded, and counts it once towards the job's progress. False when the job is no
   * longer running (it failed meanwhile): nothing is recorded then.
   */
  recordChunk(tenant: string, jobId: string, result: ChunkResult, now: number): Promise<boolean>;
  /** Every chunk recorded for the job, by index. */
  chunkResults(tenant: string, jobId: string): Promise<ChunkResult[]>;
}
