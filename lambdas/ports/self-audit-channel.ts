import type { SelfAuditRecord } from '../domain/self-audit-line.js';

export type { SelfAuditRecord } from '../domain/self-audit-line.js';

/**
 * Where a request hands its self-audit record before its answer goes out. `hand` is synchronous
 * and cheap (no network round trip): once it returns, the record outlives the process that made
 * it (a log line in Lambda's log pipeline; a line appended to a journal file locally), and a
 * consumer behind it stores the record in the events table (`storeSelfAuditLines`).
 */
export interface SelfAuditChannel {
  hand(record: SelfAuditRecord): void;
}
