import { describe, expect, it } from '@jest/globals';
import { counterItemDeltas } from '../../../lambdas/adapters/dynamodb-counters.js';

describe('Function: counterDeltas', () => {
  it('aggregates each counter once per batch, per shard', () => {
    const t = Date.UTC(2026, 0, 1, 10, 30);
    const records = [
      { tenant: 'acme', timestamp: t, action_type: 'user_login', user: 'a' },
      { tenant: 'acme', timestamp: t + 1000, action_type: 'user_login', user: 'b' },
      { tenant: 'acme', timestamp: t + 3_600_000, action_type: 'user_logout', user: 'a' },
    ];
    const deltas = [...counterItemDeltas(records, 1, 3)];
    const get = (pk: string, prefix: string) =>
      deltas.find((d) => d.key.pk === pk && d.key.sk.startsWith(prefix) && d.key.sk.endsWith('#3'))?.delta;
    expect(get('count#acme#all', 't#')).toBe(3);
    expect(get('count#acme#a#user_login', 't#')).toBe(2);
    expect(get('count#acme#a#user_logout', 't#')).toBe(1);
    expect(deltas.filter((d) => d.key.pk === 'count#acme#all' && d.key.sk.startsWith('h#'))).toHaveLength(2);
    expect(get('count#acme#u#a', 'h#')).toBe(1);
    expect(new Set(deltas.map((d) => `${d.key.pk}|${d.key.sk}`)).size).toBe(deltas.length);
    expect([...counterItemDeltas(records, -1, 0)].every((d) => d.delta < 0)).toBe(true);
  });
});
