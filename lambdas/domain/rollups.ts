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

/** Which subset of a tenant's entries a counter counts. */
export type CounterScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'action'; readonly action: string }
  | { readonly kind: 'actor'; readonly actor: string };

/** The time bucket a counter counts: all time, one UTC day or one UTC hour (day/hour numbers). */
export type CounterBucket =
  | { readonly unit: 'total' }
  | { readonly unit: 'day'; readonly index: number }
  | { readonly unit: 'hour'; readonly index: number };

/** A counter's identity, shard included (its storage key is the adapters' business). */
export interface CounterId {
  readonly tenant: string;
  readonly scope: CounterScope;
  readonly bucket: CounterBucket;
  readonly shard: number;
}

const scopeId = (scope: CounterScope): string =>
  scope.kind === 'all' ? 'all' : scope.kind === 'action' ? `a:${scope.action}` : `u:${scope.actor}`;

/**
 * The counter increments that writing (delta = +1) or deleting (delta = −1) `records` implies,
 * aggregated so each counter appears once (map keys identify counters within one call).
 */
export const counterDeltas = (
  records: readonly Pick<AuditRecord, 'tenant' | 'timestamp' | 'action_type' | 'user' | 'api_key'>[],
  delta: 1 | -1,
  shard: number,
): Map<string, { counter: CounterId; delta: number }> => {
  const deltas = new Map<string, { counter: CounterId; delta: number }>();
  const add = (tenant: string, scope: CounterScope, bucket: CounterBucket) => {
    const id = `${tenant}\u0000${scopeId(scope)}\u0000${bucket.unit}${bucket.unit === 'total' ? '' : bucket.index}`;
    const existing = deltas.get(id);
    if (existing) existing.delta += delta;
    else deltas.set(id, { counter: { tenant, scope, bucket, shard }, delta });
  };
  for (const record of records) {
    const hour: CounterBucket = { unit: 'hour', index: hourOf(record.timestamp) };
    const day: CounterBucket = { unit: 'day', index: dayOf(record.timestamp) };
    for (const scope of [{ kind: 'all' } as const, { kind: 'action', action: record.action_type } as const]) {
      add(record.tenant, scope, { unit: 'total' });
      add(record.tenant, scope, day);
      add(record.tenant, scope, hour);
    }
    const actor = actorOf(record);
    if (actor !== undefined) add(record.tenant, { kind: 'actor', actor }, hour);
  }
  return deltas;
};
