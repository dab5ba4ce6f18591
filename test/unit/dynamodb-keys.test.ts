import { describe, expect, it } from '@jest/globals';
import * as keys from '../../lambdas/adapters/dynamodb-keys.js';

/**
 * The key layout is what stored data already looks like: every key here must keep its exact
 * string, or items written before a deploy would no longer be found.
 */
describe('Module: dynamodb-keys (the key layout of stored items)', () => {
  it('keeps the events-table partitions of the tenant, its action types, actors and API calls', () => {
    expect(keys.eventKey('acme', 42)).toEqual({ tenant: 'acme', id: 42 });
    expect(keys.actionPartition('acme', 'user_login')).toBe('acme#user_login');
    expect(keys.actorPartition('acme', 'alice')).toBe('acme#alice');
    expect(keys.apiCallPartition('acme')).toBe('acme');
  });

  it('keeps the control-table keys of dedupe and idempotency keys, tenants and credentials', () => {
    expect(keys.dedupeItemKey('acme', 'eb#1#0')).toEqual({ pk: 'dedupe#acme#eb#1#0', sk: 'dedupe' });
    expect(keys.idempotencyItemKey('acme', 'ab12')).toEqual({ pk: 'idem#acme#ab12', sk: 'idem' });
    expect(keys.tenantSettingsKey('acme')).toEqual({ pk: 'tenants', sk: 'acme' });
    expect(keys.credentialLookupKey('token', 'h4sh')).toEqual({ pk: 'token#h4sh', sk: 'token' });
    expect(keys.credentialTenantKey('koreapp', 'acme', 'cs-1')).toEqual({
      pk: 'tenant#acme',
      sk: 'koreapp#cs-1',
    });
    expect(keys.credentialPrefix('token')).toBe('token#');
  });

  it('keeps the rollup counter keys: scope partition, bucket and shard', () => {
    const hour = { unit: 'hour', index: 493_000 } as const;
    expect(
      keys.counterItemKey({ tenant: 'acme', scope: { kind: 'all' }, bucket: { unit: 'total' }, shard: 3 }),
    ).toEqual({
      pk: 'count#acme#all',
      sk: 't#3',
    });
    expect(
      keys.counterItemKey({ tenant: 'acme', scope: { kind: 'action', action: 'x' }, bucket: hour, shard: 0 }),
    ).toEqual({ pk: 'count#acme#a#x', sk: 'h#00493000#0' });
    expect(
      keys.counterItemKey({
        tenant: 'acme',
        scope: { kind: 'actor', actor: 'alice' },
        bucket: { unit: 'day', index: 20_500 },
        shard: 7,
      }),
    ).toEqual({ pk: 'count#acme#u#alice', sk: 'd#00020500#7' });
    expect(keys.counterBucketIndex('h#00493000#5')).toBe(493_000);
    expect(keys.tenantCounterPrefix('acme')).toBe('count#acme#');
  });

  it('keeps the keys of export jobs, the export slot and chunk records', () => {
    expect(keys.exportJobKey('acme', 'ej-1')).toEqual({ pk: 'tenant#acme', sk: 'export#ej-1' });
    expect(keys.exportSlotKey('acme')).toEqual({ pk: 'tenant#acme', sk: 'export-slot' });
    expect(keys.exportChunkKey('acme', 'ej-1', 7)).toEqual({
      pk: 'tenant#acme',
      sk: 'exportchunk#ej-1#00007',
    });
  });

  it('keeps the keys of purge jobs, the purge lock, segment intents and counted markers, and seed markers', () => {
    expect(keys.purgeJobKey('acme', 'pj-9')).toEqual({ pk: 'purge#acme', sk: 'job#pj-9' });
    expect(keys.purgeLaterRunsPrefix('pj-9')).toBe('job#pj-9-');
    expect(keys.purgeLockKey('acme')).toEqual({ pk: 'purge#acme', sk: 'active' });
    expect(keys.purgeIntentKey('acme', 'pj-9')).toEqual({ pk: 'purge#acme', sk: 'intent#pj-9' });
    expect(keys.purgeCountedKey('acme', 'pj-9', 1234, 2)).toEqual({
      pk: 'purge#acme',
      sk: 'counted#pj-9#1234#2',
    });
    expect(keys.seedMarkerKey('acme')).toEqual({ pk: 'seed#acme', sk: 'run' });
  });
});
