import type { CloudWatchLogsEvent } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import {
  type StoreSelfAuditFunctionDependencies,
  storeSelfAuditFunctionDependencies,
} from '../composition/self-audit.js';
import type { DependenciesProvider } from '../http/context.js';
import { storeSelfAuditLines } from '../use-cases/store-self-audit.js';

/**
 * The HTTP functions' log groups' subscription target: stores the self-audit records of a delivery
 * (each once, under its call's key). Invoked asynchronously by CloudWatch Logs: a delivery that
 * throws is retried by Lambda and, after its retries, sent to the function's on-failure queue;
 * records already stored by an earlier attempt are not stored again.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<StoreSelfAuditFunctionDependencies>) =>
  async (event: CloudWatchLogsEvent, _context?: unknown): Promise<void> => {
    const { store, linesOf } = await dependencies();
    // The delivery's payload is gzipped JSON; the composition root decodes it.
    const outcome = await storeSelfAuditLines(store, linesOf(event));
    // Counts only: the lines hold the calls' (redacted) parameters.
    if (outcome.skipped > 0) log.warn('self-audit delivery had lines that are no records', { ...outcome });
  };

export const handler = withRequestLog(
  makeHandler(() => storeSelfAuditFunctionDependencies(environmentConfig())),
);
