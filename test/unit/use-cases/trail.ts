import { randomBytes } from 'node:crypto';
import type { AuditRecord, EventDraft } from '../../../lambdas/domain/record.js';
import { HOUR_MS } from '../../../lambdas/domain/time.js';
import { inMemoryAuditStore } from '../../fakes/in-memory-audit-store.js';

/** 2026-03-10T00:00:00Z, a UTC midnight: the start of every trail in these specs. */
export const DAY0 = Date.UTC(2026, 2, 10);
export const hoursAfter = (hours: number, minutes = 0): number => DAY0 + hours * HOUR_MS + minutes * 60_000;

/** A clock the test sets or moves. */
export const testClock = (start = hoursAfter(24 * 30)) => {
  let now = start;
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
};

/** A fresh in-memory store with a tenant's trail of `drafts` written in order. */
export const trailOf = async (tenant: string, drafts: readonly EventDraft[]) => {
  const store = inMemoryAuditStore();
  const records = (await store.events.append(tenant, drafts)) as AuditRecord[];
  return { ...store, records };
};

/** `count` logins, one a minute from `start`, by users cycling through `users`. */
export const logins = (count: number, start = hoursAfter(1), users = ['ana@example.com']): EventDraft[] =>
  Array.from({ length: count }, (_, index) => ({
    timestamp: start + index * 60_000,
    action_type: 'user_login',
    user: users[index % users.length] as string,
    message: `login ${index}`,
  }));

export const newCursorKey = (): Uint8Array => randomBytes(32);

/** The ids of `records`, newest first. */
export const newestFirst = (records: readonly AuditRecord[]): number[] =>
  records.map((record) => record.id).sort((a, b) => b - a);
export const oldestFirst = (records: readonly AuditRecord[]): number[] =>
  records.map((record) => record.id).sort((a, b) => a - b);
export const idsOf = (records: readonly AuditRecord[]): number[] => records.map((record) => record.id);
