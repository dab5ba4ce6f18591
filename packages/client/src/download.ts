import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AuditTrailJobError } from './errors.js';
import { sleep } from './retry.js';
import { apiError, type Transport } from './transport.js';
import type { CallOptions, Job } from './types.js';

/** Where a download is, as it goes. */
export interface DownloadProgress {
  /** `waiting`: an export job is being made; `transferring`: the zip is being written. */
  readonly phase: 'waiting' | 'transferring';
  /** Bytes of the zip written so far. */
  readonly bytes: number;
  /** The zip's size, when the server said (`Content-Length`). */
  readonly totalBytes: number | undefined;
  /** Entries exported so far, when the job reports it. */
  readonly entries: number | undefined;
  /** Entries the export will hold, when the job reports it. */
  readonly totalEntries: number | undefined;
  /** The export job, when the download became one (202). */
  readonly jobId: string | undefined;
}

export interface DownloadOptions extends CallOptions {
  /** The file to write (replaced atomically once complete). */
  readonly to: string;
  /** Called as the job runs and for each chunk written. */
  readonly onProgress?: (progress: DownloadProgress) => void;
  /**
   * How often to ask for a job's status when the service sends no `Retry-After`.
   * @default 2000
   */
  readonly pollIntervalMs?: number;
  /**
   * How long to wait for an export job in all.
   * @default 1800000 (30 minutes)
   */
  readonly timeoutMs?: number;
}

export interface DownloadResult {
  readonly path: string;
  readonly bytes: number;
  /** `inline`: the zip came in the answer; `storage`: from a presigned URL; `job`: from an export job. */
  readonly source: 'inline' | 'storage' | 'job';
  readonly jobId: string | undefined;
}

/** A job field read by name: job bodies are open objects whose documented fields may grow. */
const text = (value: unknown, name: string): string | undefined => {
  const field =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
  return typeof field === 'string' ? field : undefined;
};

const numberField = (value: unknown, ...names: string[]): number | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const name of names) {
    const field = (value as Record<string, unknown>)[name];
    if (typeof field === 'number' && Number.isFinite(field)) return field;
  }
  return undefined;
};

/**
 * Downloads `canary_audit_trail.json.zip` to a file, whichever way the service answers: the zip
 * inline (200), a presigned URL (303), or an export job (202 → job status → 303), honouring
 * `Retry-After` while waiting. The file appears only once complete.
 */
export const download = async (transport: Transport, options: DownloadOptions): Promise<DownloadResult> => {
  const signal = options.signal;
  const signalInit = signal ? { signal } : {};
  const report = options.onProgress ?? (() => undefined);
  const first = await transport.api.GET('/api/v1/audit_trail/download/json', {
    parseAs: 'stream',
    redirect: 'manual',
    ...signalInit,
  });
  let response = first.response;
  let jobId: string | undefined;
  let job: Job | undefined;
  if (response.status === 202) {
    job = (await response.json()) as Job;
    jobId = text(job, 'job_id');
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    let statusUrl = new URL(response.headers.get('location') ?? `jobs/${jobId}`, response.url);
    for (;;) {
      report({
        phase: 'waiting',
        bytes: 0,
        totalBytes: undefined,
        entries: numberField(job, 'entries', 'entries_done', 'exported'),
        totalEntries: numberField(job, 'total_entries', 'entries_total', 'total'),
        jobId,
      });
      if (Date.now() > deadline)
        throw new AuditTrailJobError(jobId ?? '?', 'still running when the wait ended');
      const retryAfter = Number(response.headers.get('retry-after'));
      await sleep(
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : (options.pollIntervalMs ?? 2000),
        signal,
      );
      const jobPath = statusUrl.pathname.split('/').pop() ?? '';
      const status = await transport.api.GET('/api/v1/audit_trail/download/jobs/{job}', {
        params: { path: { job: decodeURIComponent(jobPath) } },
        redirect: 'manual',
        ...signalInit,
      });
      response = status.response;
      if (response.status === 303) break;
      if (status.data === undefined) throw apiError('canary', response, status.error);
      job = status.data;
      if (text(job, 'status') === 'failed') {
        throw new AuditTrailJobError(jobId ?? '?', text(job, 'message') ?? 'export failed');
      }
      statusUrl = new URL(response.headers.get('location') ?? statusUrl.href, response.url);
    }
  } else if (response.status !== 200 && response.status !== 303) {
    throw apiError('canary', response, first.error);
  }
  let source: DownloadResult['source'] = jobId !== undefined ? 'job' : 'inline';
  if (response.status === 303) {
    if (!response.bodyUsed) await response.body?.cancel();
    response = await transport.fromStorage(response, signal);
    if (source === 'inline') source = 'storage';
  }
  const entries = numberField(job, 'entries');
  const length = Number(response.headers.get('content-length'));
  const totalBytes = Number.isFinite(length) && length > 0 ? length : undefined;
  let bytes = 0;
  const progress = () =>
    report({ phase: 'transferring', bytes, totalBytes, entries, totalEntries: entries, jobId });
  progress();
  const partial = `${options.to}.part`;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      progress();
      callback(null, chunk);
    },
  });
  try {
    if (!response.body) throw new AuditTrailJobError(jobId ?? 'download', 'the zip had no body');
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      counter,
      createWriteStream(partial, { mode: 0o600 }),
      ...(signal ? [{ signal }] : []),
    );
    await rename(partial, options.to);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { path: options.to, bytes, source, jobId };
};
