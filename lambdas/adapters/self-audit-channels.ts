import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { selfAuditLine } from '../domain/self-audit-line.js';
import type { SelfAuditChannel, SelfAuditRecord } from '../ports/self-audit-channel.js';

/**
 * In Lambda: the record as one JSON line on stdout. Lambda's runtime takes stdout through a pipe
 * (a synchronous write in Node on Linux), so once `hand` returns the line is with the runtime's log
 * pipeline, which ships it to the function's CloudWatch Logs group even if the function dies next;
 * the group's subscription filter (SELF_AUDIT_FILTER_PATTERN) sends it to the store-self-audit
 * consumer. Written whatever LOG_LEVEL says: it is data, not a diagnostic.
 */
export class LogLineSelfAuditChannel implements SelfAuditChannel {
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void = (line) => process.stdout.write(line)) {
    this.#write = write;
  }

  hand(record: SelfAuditRecord): void {
    this.#write(`${selfAuditLine(record)}\n`);
  }
}

/**
 * Locally: the record as one line appended to a journal file (one `write` with O_APPEND, so lines
 * of concurrent writers never interleave). Once `hand` returns, the line is in the file system and
 * outlives the process (a SIGKILL; not a power loss: no fsync, which would cost milliseconds); the
 * stack's journal consumer (local/self-audit-journal.ts) stores it, resuming from its checkpoint
 * after a restart.
 */
export class JournalSelfAuditChannel implements SelfAuditChannel {
  readonly #path: string;
  #ready = false;

  constructor(path: string) {
    this.#path = path;
  }

  hand(record: SelfAuditRecord): void {
    if (!this.#ready) {
      mkdirSync(dirname(this.#path), { recursive: true });
      this.#ready = true;
    }
    appendFileSync(this.#path, `${selfAuditLine(record)}\n`, { mode: 0o600 });
  }
}
