/** Long-running work that outlives the request that started it. */
export type JobKind = 'purge' | 'export';

/** What a worker receives: enough to load the job's checkpoint from the control table. */
export interface JobMessage {
  readonly kind: JobKind;
  readonly tenant: string;
  readonly jobId: string;
}

/**
 * Starts a job's worker without waiting for it: in AWS an asynchronous invocation of the
 * `<kind>-worker` function; locally the same handler in this process.
 */
export interface JobLauncher {
  launch(message: JobMessage): Promise<void>;
}
