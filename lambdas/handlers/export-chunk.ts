import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { parallelExportDependencies } from '../composition/export-jobs.js';
import { InvariantError } from '../domain/errors.js';
import { isExportId } from '../domain/export.js';
import { MAX_EXPORT_CHUNKS } from '../domain/export-plan.js';
import type { DependenciesProvider } from '../http/context.js';
import type { ParallelExportDependencies } from '../use-cases/parallel-export.js';
import { runExportChunk } from '../use-cases/run-export-chunk.js';

/** One chunk of a parallel export job, as the export state machine's Map sends it. */
export interface ExportChunkMessage {
  readonly tenant: string;
  readonly jobId: string;
  readonly index: number;
}

/**
 * A parallel export's chunk worker (the export state machine's Map runs many at once; in-process
 * locally): compresses the chunk's entries into its part of the job's multipart upload. It throws
 * on any failure, so the state machine retries the chunk (a retry rewrites the part); it returns
 * what it stored, small enough for the execution history.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<ParallelExportDependencies>) =>
  async (
    message: ExportChunkMessage,
  ): Promise<{ readonly index: number; readonly entries: number } | undefined> => {
    if (
      typeof message?.tenant !== 'string' ||
      !isExportId(String(message.jobId)) ||
      !Number.isInteger(message.index) ||
      message.index < 0 ||
      message.index >= MAX_EXPORT_CHUNKS
    ) {
      log.error('export chunk: malformed message');
      throw new InvariantError('malformed export chunk message');
    }
    const { tenant, jobId, index } = message;
    const result = await runExportChunk(await dependencies(), {
      tenant,
      jobId,
      chunk: { index },
    });
    log.info('export chunk stored', {
      tenant,
      jobId,
      index,
      entries: result?.entries,
      bytes: result ? result.headerBytes + result.deflateBytes : undefined,
    });
    return result ? { index, entries: result.entries } : undefined;
  };

export const handler = withRequestLog(makeHandler(() => parallelExportDependencies(environmentConfig())));
