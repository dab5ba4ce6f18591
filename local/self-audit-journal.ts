import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** What the consumer hands each batch of complete lines to (throws: the batch is retried). */
export type JournalBatchHandler = (lines: readonly string[]) => Promise<void>;

export interface JournalConsumerOptions {
  /** The journal the self-audit channel appends to (SELF_AUDIT_JOURNAL). */
  readonly path: string;
  readonly handle: JournalBatchHandler;
  /** Lines per batch. */
  readonly batchSize?: number;
  /** Pause between polls of a quiet journal (`drain()` wakes the consumer at once). */
  readonly pollMs?: number;
  /** Pause before retrying a batch that failed. */
  readonly retryMs?: number;
  /** A consumed journal is emptied once it is this large. */
  readonly truncateBytes?: number;
  /** Told about a batch that failed (to log it). */
  readonly onError?: (error: unknown) => void;
}

/** The local stand-in for the log subscription that delivers self-audit lines to their consumer. */
export interface JournalConsumer {
  /** Resolves once every line appended before the call has been handled. */
  drain(): Promise<void>;
  /** Lines handed over so far and batches that failed (retried). */
  readonly stats: { lines: number; batches: number; failures: number };
  stop(): Promise<void>;
}

/** Where the consumer's checkpoint is kept: the byte offset of the first line not yet handled. */
export const checkpointPathOf = (path: string): string => `${path}.offset`;

/**
 * Tails the self-audit journal from its checkpoint: reads the complete lines appended since, hands
 * them to `handle` in batches, and saves the offset after each batch that succeeded (so a stack
 * killed at any point resumes with the first line it had not handled; a batch handled but not
 * checkpointed is handed again, and the handler stores each record once). When everything is
 * handled and the journal has grown past `truncateBytes`, it is emptied (the checkpoint saved first,
 * then reset; a checkpoint past the end of the file means exactly that it was emptied).
 */
export const startJournalConsumer = (options: JournalConsumerOptions): JournalConsumer => {
  const { path } = options;
  const checkpointPath = checkpointPathOf(path);
  const batchSize = options.batchSize ?? 100;
  const pollMs = options.pollMs ?? 20;
  const retryMs = options.retryMs ?? 200;
  const truncateBytes = options.truncateBytes ?? 1_048_576;
  const stats = { lines: 0, batches: 0, failures: 0 };
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) writeFileSync(path, '', { mode: 0o600 });
  const fd = openSync(path, 'r+');
  const size = () => fstatSync(fd).size;
  const saveCheckpoint = (offset: number) => {
    writeFileSync(`${checkpointPath}.tmp`, String(offset), { mode: 0o600 });
    renameSync(`${checkpointPath}.tmp`, checkpointPath);
  };
  let offset = existsSync(checkpointPath) ? Number(readFileSync(checkpointPath, 'utf8')) || 0 : 0;
  if (offset > size()) offset = 0;
  // A line a dying writer left unfinished is ended here, so the next line does not run into it (it
  // is then a line that is no record, skipped).
  if (size() > 0) {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size() - 1);
    if (last[0] !== 10) appendFileSync(path, '\n');
  }
  // Bytes emptied out of the journal so far: positions before them are all handled.
  let base = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const waiters: { target: number; resolve: () => void }[] = [];

  /** The complete lines after `offset`, at most `batchSize`, and the bytes they take. */
  const nextLines = (): { lines: string[]; bytes: number } => {
    const available = size() - offset;
    if (available <= 0) return { lines: [], bytes: 0 };
    const buffer = Buffer.alloc(Math.min(available, 4_194_304));
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    const lines: string[] = [];
    let start = 0;
    while (lines.length < batchSize) {
      const end = buffer.indexOf(10, start);
      if (end < 0 || end >= read) break;
      lines.push(buffer.toString('utf8', start, end));
      start = end + 1;
    }
    return { lines, bytes: start };
  };

  const settleWaiters = () => {
    for (const waiter of waiters.splice(0)) {
      if (base + offset >= waiter.target) waiter.resolve();
      else waiters.push(waiter);
    }
  };

  const loop = (async () => {
    while (!stopped) {
      let batch: { lines: string[]; bytes: number };
      try {
        batch = nextLines();
      } catch (error) {
        // A read that failed (the file system, not a line): try again after a pause, never stop.
        stats.failures += 1;
        options.onError?.(error);
        await pause(retryMs);
        continue;
      }
      const { lines, bytes } = batch;
      if (lines.length > 0) {
        try {
          await options.handle(lines);
        } catch (error) {
          stats.failures += 1;
          options.onError?.(error);
          await pause(retryMs);
          continue;
        }
        stats.lines += lines.length;
        stats.batches += 1;
        offset += bytes;
        try {
          saveCheckpoint(offset);
        } catch (error) {
          // Only the restart position is at stake: a restart hands these lines again, stored once.
          options.onError?.(error);
        }
        settleWaiters();
        continue;
      }
      // No complete line left: everything appended before any waiter arrived is handled.
      for (const waiter of waiters.splice(0)) waiter.resolve();
      // All handled: empty a large journal. Synchronous from the size check on, so no line this
      // process appends can fall in between (the stack's process is the journal's only writer).
      try {
        if (offset >= truncateBytes && size() === offset) {
          ftruncateSync(fd, 0);
          base += offset;
          offset = 0;
          saveCheckpoint(0);
        }
      } catch (error) {
        options.onError?.(error);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    stats,
    drain: () =>
      new Promise<void>((resolve) => {
        if (stopped) return resolve();
        waiters.push({ target: base + size(), resolve });
        wake?.();
      }),
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
      for (const waiter of waiters.splice(0)) waiter.resolve();
      closeSync(fd);
    },
  };
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
