import { actorOf, type EventDraft } from '../lambdas/domain/record.js';
import { DAY_MS, hourOf } from '../lambdas/domain/time.js';
import { mixedEvents } from './seed-events.js';

/** One slice of a seed run: `count` events with timestamps in `(to − span, to]`. */
export interface SeedWindow {
  readonly index: number;
  readonly count: number;
  readonly span: number;
  readonly to: number;
}

/**
 * Splits `events` events over the `days` days before `now` into consecutive time windows of
 * about `perWindow` events each, oldest first. Each window covers its own stretch of time, so its
 * events share few hours, and so few rollup counters (see `batchesOf`).
 */
export const seedWindows = (events: number, days: number, now: number, perWindow: number): SeedWindow[] => {
  const windows = Math.max(1, Math.ceil(events / perWindow));
  const start = now - days * DAY_MS;
  const boundary = (k: number) => start + Math.floor((k * (now - start)) / windows);
  const countBefore = (k: number) => Math.floor((k * events) / windows);
  return Array.from({ length: windows }, (_, k) => ({
    index: k,
    count: countBefore(k + 1) - countBefore(k),
    span: boundary(k + 1) - boundary(k),
    to: boundary(k + 1),
  })).filter((window) => window.count > 0);
};

/** The events of one window, deterministic for the run's seed. */
export const windowEvents = (window: SeedWindow, seed: number): EventDraft[] =>
  mixedEvents(window.count, Math.max(1, window.span), window.to, seed + window.index);

/**
 * Orders a window's events by hour, action and actor, and cuts them into batches of `size`.
 * The event store puts each transaction's entries and the counters they touch together; events
 * of one hour, action and actor share all their counters, so a transaction of them carries
 * ~90 entries and a handful of counter updates instead of one counter set per entry.
 */
export const batchesOf = (drafts: readonly EventDraft[], size: number): EventDraft[][] => {
  const keyed = drafts.map((draft) => ({
    draft,
    hour: hourOf(draft.timestamp ?? 0),
    actor: actorOf(draft) ?? '',
  }));
  keyed.sort(
    (a, b) =>
      a.hour - b.hour ||
      compare(a.draft.action_type, b.draft.action_type) ||
      compare(a.actor, b.actor) ||
      (a.draft.timestamp ?? 0) - (b.draft.timestamp ?? 0),
  );
  const batches: EventDraft[][] = [];
  for (let start = 0; start < keyed.length; start += size)
    batches.push(keyed.slice(start, start + size).map(({ draft }) => draft));
  return batches;
};

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
