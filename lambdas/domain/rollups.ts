import { type AuditRecord, actorOf } from './record.js';
import { dayOf, hourOf } from './time.js';

/**
 * Rollup counters: how many entries a tenant has, all-time, per UTC day and per UTC hour, overall
 * and per action type (and per hour per user). They are written in the same transaction as the
 * entries they count, so totals are exact without reading entries.
 *
 * Each counter is split over COUNTER_SHARDS items (a writer picks one at random) so that
 * concurrent writers do not all contend for one hot item; readers add the shards up.
 */
export const COUNTER_SHARDS = 8;

/** A counter's identity: its item key in the control table, shard included. */
export interface CounterKey {
  readonly pk: string;
  readonly sk: string;
}

/** Which subset of a tenant's entries a counter counts. */
export type CounterScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'action'; readonly action: string }
  | { readonly kind: 'actor'; readonly actor: string };

export const counterPartition = (tenant: string, scope: CounterScope): string => {
  switch (scope.kind) {
    case 'all':
      return `count#${tenant}#all`;
    case 'action':
      return `count#${tenant}#a#${scope.action}`;
    case 'actor':
      return `count#${tenant}#u#${scope.actor}`;
  }
};

const pad = (value: number): string => String(value).padStart(8, '0');
export const totalPrefix = 't#';
export const dayPrefix = (day: number): string => `d#${pad(day)}#`;
export const hourPrefix = (hour: number): string => `h#${pad(hour)}#`;

/**
 * The counter increments that writing (delta = +1) or deleting (delta = −1) `records` implies,
 * aggregated so each counter item appears once.
 */
export const counterDeltas = (
  records: readonly Pick<AuditRecord, 'tenant' | 'timestamp' | 'action_type' | 'user' | 'api_key'>[],
  delta: 1 | -1,
  shard: number,
): Map<string, { key: CounterKey; delta: number }> => {
  const deltas = new Map<string, { key: CounterKey; delta: number }>();
  const add = (pk: string, prefix: string) => {
    const sk = `${prefix}${shard}`;
    const id = `${pk}|${sk}`;
    const existing = deltas.get(id);
    if (existing) existing.delta += delta;
    else deltas.set(id, { key: { pk, sk }, delta });
  };
  for (const record of records) {
    const hour = hourPrefix(hourOf(record.timestamp));
    const day = dayPrefix(dayOf(record.timestamp));
    for (const scope of [{ kind: 'all' } as const, { kind: 'action', action: record.action_type } as const]) {
      const pk = counterPartition(record.tenant, scope);
      add(pk, totalPrefix);
      add(pk, day);
      add(pk, hour);
    }
    const actor = actorOf(record);
    if (actor !== undefined) add(counterPartition(record.tenant, { kind: 'actor', actor }), hour);
  }
  return deltas;
};
