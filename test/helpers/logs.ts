import { redirectLogs } from '../../lambdas/adapters/log.js';

/** One structured log line, parsed. */
export type LogEntry = Record<string, unknown> & { level: string; message: string };

/**
 * Captures the service's log lines instead of printing them, for a test that expects some (an
 * error line a failure must write): `npm test` then prints error lines only when something
 * unexpected failed. Call `restore()` in a `finally` or `afterEach`.
 */
export const captureLogs = (): { readonly entries: () => LogEntry[]; readonly restore: () => void } => {
  const lines: string[] = [];
  const restore = redirectLogs((line) => {
    lines.push(line);
  });
  return { entries: () => lines.map((line) => JSON.parse(line) as LogEntry), restore };
};
