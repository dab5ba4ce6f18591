import { AuditTrailJobError } from './errors.js';
import { sleep } from './retry.js';
import { apiError, type Transport } from './transport.js';
import type { CallOptions, Job } from './types.js';

export interface PurgeOptions extends CallOptions {
  /** Called with the job's state each time it is read (a job that finished at once: once). */
  readonly onProgress?: (job: PurgeProgress) => void;
  /**
   * How often to read a running job's state (a `Retry-After` from the service wins).
   * @default 1000
   */
  readonly pollIntervalMs?: number;
}

/** A purge's state: the job's id, status and how many entries it deleted so far. */
export interface PurgeProgress {
  readonly jobId: string | undefined;
  readonly status: string;
  /** Entries deleted so far (by this request, or by the job over all its runs once it is polled). */
  readonly deleted: number;
  /** The whole body the service sent. */
  readonly raw: Job;
}

/** Job bodies are open objects whose documented fields may grow: read them by name. */
const progressOf = (body: Job): PurgeProgress => {
  const fields = body as Record<string, unknown>;
  return {
    jobId: typeof fields.job_id === 'string' ? fields.job_id : undefined,
    status: typeof fields.status === 'string' ? fields.status : 'completed',
    deleted: typeof fields.deleted === 'number' ? fields.deleted : 0,
    raw: body,
  };
};

/** A purge job's state. */
export const purgeJob = async (
  transport: Transport,
  jobId: string,
  options: CallOptions = {},
): Promise<Job> => {
  const { data, error, response } = await transport.api.GET('/api/v1/audit_trail/purge/{job}', {
    params: { path: { job: jobId } },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (data === undefined) throw apiError('canary', response, error);
  return data;
};

/**
 * Deletes every entry with id ≤ `throughId` and waits for the purge to finish: a purge that runs
 * past its request continues as a job (202), whose state is polled until it completes.
 */
export const purge = async (
  transport: Transport,
  throughId: number,
  options: PurgeOptions = {},
): Promise<PurgeProgress> => {
  const report = options.onProgress ?? (() => undefined);
  const { data, error, response } = await transport.api.POST('/api/v1/audit_trail/purge', {
    params: { query: { id: throughId } },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (data === undefined) throw apiError('canary', response, error);
  let state = progressOf(data as Job);
  if (response.status !== 202) {
    report(state);
    return state;
  }
  let retryAfter = Number(response.headers.get('retry-after'));
  for (;;) {
    report(state);
    if (state.status === 'completed') return state;
    if (state.status === 'failed') {
      throw new AuditTrailJobError(
        state.jobId ?? '?',
        typeof (state.raw as Record<string, unknown>).message === 'string'
          ? String((state.raw as Record<string, unknown>).message)
          : 'purge failed',
      );
    }
    const jobId = state.jobId;
    if (jobId === undefined) throw new AuditTrailJobError('?', 'the service answered 202 without a job id');
    await sleep(retryAfter > 0 ? retryAfter * 1000 : (options.pollIntervalMs ?? 1000), options.signal);
    retryAfter = 0;
    state = progressOf(await purgeJob(transport, jobId, options));
  }
};
