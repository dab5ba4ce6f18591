/** One structured log line, parsed. */
export type LogEntry = Record<string, unknown> & { level: string; message: string };

/**
 * Captures the service's log lines (JSON objects with a `level`, on stdout) instead of printing
 * them, for a test that expects some (an error line a failure must write): `npm test` then prints
 * error lines only when something unexpected failed. Other output passes through. Call
 * `restore()` in a `finally` or `afterEach`.
 */
export const captureLogs = (): { readonly entries: () => LogEntry[]; readonly restore: () => void } => {
  const entries: LogEntry[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (text.startsWith('{"level":')) {
      entries.push(JSON.parse(text) as LogEntry);
      return true;
    }
    return write.call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  return {
    entries: () => [...entries],
    restore: () => {
      process.stdout.write = write;
    },
  };
};
