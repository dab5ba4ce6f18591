import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { type CursorState, openCursor, sealCursor } from '../../../lambdas/domain/cursor.js';
import {
  choosePlan,
  DEFAULT_PLANNER,
  type MergeResult,
  mergeShards,
  PLAN_LEAD_MS,
  parseShardPartition,
  RateMeter,
  ShardPlanner,
  type ShardPlans,
  type ShardReadRequest,
  shardOf,
  shardPartition,
  shardsAt,
  shardsNeeded,
  shardsOver,
} from '../../../lambdas/domain/hot-shards.js';
import { CONDITIONAL_SEQUENCE_START } from '../../../lambdas/domain/id-slots.js';
import { idFor } from '../../../lambdas/domain/ids.js';

const NOW = Date.UTC(2026, 10, 30, 12);
const HOUR = 3_600_000;

describe('shard plans', () => {
  const plans: ShardPlans = [
    { from: NOW, shards: 16 },
    { from: NOW + 2 * HOUR, shards: 4 },
  ];

  it('are k = 1 before the first plan and the plan in effect after', () => {
    expect(shardsAt([], NOW)).toBe(1);
    expect(shardsAt(plans, NOW - 1)).toBe(1);
    expect(shardsAt(plans, NOW)).toBe(16);
    expect(shardsAt(plans, NOW + 2 * HOUR - 1)).toBe(16);
    expect(shardsAt(plans, NOW + 2 * HOUR)).toBe(4);
  });

  it('give readers of a range the most shards any plan in it has', () => {
    expect(shardsOver(plans, NOW - HOUR, NOW - 1)).toBe(1);
    expect(shardsOver(plans, NOW - HOUR, NOW)).toBe(16);
    expect(shardsOver(plans, NOW + 3 * HOUR, NOW + 4 * HOUR)).toBe(4);
    expect(shardsOver(plans, NOW + HOUR, NOW + 4 * HOUR)).toBe(16);
  });

  it('leave out plans that take effect after anything can have been written', () => {
    // Recorded at NOW − 2 min, effective at NOW + 5 min: nothing written under it yet at NOW − 2 min.
    const pending: ShardPlans = [{ from: NOW + 5 * 60_000, shards: 8 }];
    expect(shardsOver(pending, 0, Number.MAX_SAFE_INTEGER, NOW - 2 * 60_000)).toBe(1);
    // Once a slot id can be stamped in its range (WRITE_AHEAD_MS), readers include it.
    expect(shardsOver(pending, 0, Number.MAX_SAFE_INTEGER, NOW)).toBe(8);
  });

  it('name shard 0 by the tenant itself and the others reversibly', () => {
    expect(shardPartition('acme', 0)).toBe('acme');
    expect(shardPartition('acme', 7)).toBe('acme~7');
    expect(parseShardPartition('acme~7')).toEqual({ tenant: 'acme', shard: 7 });
    expect(parseShardPartition('acme')).toEqual({ tenant: 'acme', shard: 0 });
  });
});

describe('shardOf', () => {
  const plans: ShardPlans = [{ from: NOW, shards: 16 }];

  it('keeps k = 1 tenants, earlier entries and conditional ids in shard 0', () => {
    expect(shardOf(idFor(NOW + 5, 3), [])).toBe(0);
    expect(shardOf(idFor(NOW - 5, 3), plans)).toBe(0);
    expect(shardOf(idFor(NOW + 5, CONDITIONAL_SEQUENCE_START + 9), plans)).toBe(0);
  });

  it('spreads one second of slot ids evenly over the shards', () => {
    // 10,000 ids in one second, as 128 writers' slots hand them out (4 a millisecond each).
    const counts = new Array(16).fill(0) as number[];
    let written = 0;
    for (let ms = 0; written < 10_000; ms += 1) {
      for (let sequence = 0; sequence < 10 && written < 10_000; sequence += 1, written += 1) {
        const id = idFor(NOW + ms, (sequence * 37) % CONDITIONAL_SEQUENCE_START);
        const shard = shardOf(id, plans);
        counts[shard] = (counts[shard] ?? 0) + 1;
      }
    }
    expect(Math.min(...counts)).toBeGreaterThan(10_000 / 16 - 100);
    expect(Math.max(...counts)).toBeLessThan(10_000 / 16 + 100);
  });
});

describe('choosePlan', () => {
  it('keeps small tenants at k = 1 and gives 10,000 events/s 16 shards', () => {
    expect(shardsNeeded(0)).toBe(1);
    expect(shardsNeeded(500)).toBe(1);
    expect(shardsNeeded(10_000)).toBe(16);
    expect(choosePlan([], 500, NOW)).toBeUndefined();
    expect(choosePlan([], 10_000, NOW)).toEqual({ from: NOW + PLAN_LEAD_MS, shards: 16 });
  });

  it('records nothing while a plan is pending, scales down only after the interval with room to spare', () => {
    const plans: ShardPlans = [{ from: NOW, shards: 16 }];
    expect(choosePlan(plans, 100, NOW - 1)).toBeUndefined();
    // Pending, but a tenant still ramping up gets a larger plan after it.
    expect(choosePlan(plans, 40_000, NOW - 1)).toEqual({ from: NOW - 1 + PLAN_LEAD_MS, shards: 64 });
    // 3,000/s still needs 8 (> 16 / 4): no change.
    expect(choosePlan(plans, 3_000, NOW + 2 * HOUR)).toBeUndefined();
    // 1,000/s needs 2: not yet (too soon after the last change), then halved.
    expect(choosePlan(plans, 1_000, NOW + 10 * 60_000)).toBeUndefined();
    expect(choosePlan(plans, 1_000, NOW + DEFAULT_PLANNER.minPlanIntervalMs)).toEqual({
      from: NOW + DEFAULT_PLANNER.minPlanIntervalMs + PLAN_LEAD_MS,
      shards: 8,
    });
    // Up at once, whatever the interval.
    expect(choosePlan(plans, 20_000, NOW + 1)).toEqual({ from: NOW + 1 + PLAN_LEAD_MS, shards: 32 });
  });

  it('feeds on the busiest second of the window', () => {
    const meter = new RateMeter(60);
    meter.add('acme', NOW, 300);
    meter.add('acme', NOW + 500, 400);
    meter.add('acme', NOW + 1500, 100);
    expect(meter.peak('acme', NOW + 2000)).toBe(700);
    expect(meter.peak('acme', NOW + 60_500)).toBe(100);
    expect(meter.peak('acme', NOW + 200_000)).toBe(0);
  });
});

describe('ShardPlanner', () => {
  it("estimates a sharded tenant's whole rate from the shards one consumer sees", () => {
    const planner = new ShardPlanner();
    const plans: ShardPlans = [{ from: NOW - HOUR, shards: 16 }];
    // This consumer's stream shard holds 4 of the 16 write shards: 2,500 of the tenant's 10,000/s.
    for (const shard of [0, 5, 9, 13]) planner.observe('acme', shard, NOW, 625);
    expect(planner.rate('acme', plans, NOW + 500)).toBe(10_000);
    expect(planner.consider('acme', plans, NOW + 500)).toBeUndefined();
  });

  it('asks for a plan once the rate needs it, at most once per interval, never for a small tenant', () => {
    const planner = new ShardPlanner(DEFAULT_PLANNER, { everyMs: 10_000 });
    planner.observe('small', 0, NOW, 300);
    expect(planner.consider('small', [], NOW + 100)).toBeUndefined();
    planner.observe('big', 0, NOW, 5_000);
    expect(planner.consider('big', [], NOW + 100)).toEqual({ from: NOW + 100 + PLAN_LEAD_MS, shards: 8 });
    expect(planner.consider('big', [], NOW + 200)).toBeUndefined();
    expect(planner.consider('big', [], NOW + 10_100)).toEqual({
      from: NOW + 10_100 + PLAN_LEAD_MS,
      shards: 8,
    });
  });
});

describe('ShardPlanner, a burst that starts quietly', () => {
  it('plans at the chunk that shows the burst, not an interval after the quiet first look', () => {
    const planner = new ShardPlanner({ ...DEFAULT_PLANNER, targetUnitsPerKey: 50 }, { everyMs: 10_000 });
    // The consumer's first chunk of the burst holds a few entries: nothing to plan yet.
    planner.observe('bursty', 0, NOW, 30);
    expect(planner.consider('bursty', [], NOW + 100)).toBeUndefined();
    // The next chunks, within the interval, take the same second to 400 entries: 8 shards now.
    planner.observe('bursty', 0, NOW + 200, 370);
    expect(planner.consider('bursty', [], NOW + 300)).toEqual({ from: NOW + 300 + PLAN_LEAD_MS, shards: 8 });
    // Still within the interval and no busier: not asked again.
    expect(planner.consider('bursty', [], NOW + 400)).toBeUndefined();
    // Busier still, but a plan was asked for within the interval: one plan per interval.
    planner.observe('bursty', 0, NOW + 500, 2_000);
    expect(planner.consider('bursty', [], NOW + 600)).toBeUndefined();
    expect(planner.consider('bursty', [], NOW + 10_400)).toEqual({
      from: NOW + 10_400 + PLAN_LEAD_MS,
      shards: 64,
    });
  });
});

/** In-memory shards: each a sorted list of ids, read like a DynamoDB Query with a key condition. */
const memoryShards = (ids: readonly number[], shards: number, shardOfId: (id: number) => number) => {
  const lists = Array.from({ length: shards }, () => [] as number[]);
  for (const id of ids) lists[shardOfId(id)]?.push(id);
  for (const list of lists) list.sort((a, b) => a - b);
  const requests: ShardReadRequest[] = [];
  const page = (positions: readonly (number | undefined)[], limit: number, newestFirst: boolean) =>
    mergeShards<number>({
      shards,
      positions,
      limit,
      newestFirst,
      idOf: (id) => id,
      read: async (request) => {
        requests.push(request);
        const list = lists[request.shard] ?? [];
        const ordered = newestFirst ? [...list].reverse() : list;
        const after = (id: number) =>
          request.after === undefined || (newestFirst ? id < request.after : id > request.after);
        const within = (id: number) =>
          request.bound === undefined || (newestFirst ? id >= request.bound : id <= request.bound);
        const matching = ordered.filter((id) => after(id) && within(id));
        return { items: matching.slice(0, request.limit), more: matching.length > request.limit };
      },
    });
  return { page, requests };
};

const walk = async (
  page: (
    positions: readonly (number | undefined)[],
    limit: number,
    newestFirst: boolean,
  ) => Promise<MergeResult<number>>,
  shards: number,
  limit: number,
  newestFirst: boolean,
) => {
  const seen: number[] = [];
  let positions: (number | undefined)[] = new Array(shards).fill(undefined);
  let read = 0;
  for (let pages = 0; pages < 10_000; pages += 1) {
    const result = await page(positions, limit, newestFirst);
    seen.push(...result.items);
    read += result.itemsRead;
    positions = result.positions;
    if (result.items.length < limit) break;
  }
  return { seen, read };
};

describe('mergeShards', () => {
  it('pages through k shards in exactly the order of one partition: no skip, no repeat', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 5_000_000 }), { maxLength: 400 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 60 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1_000_000 }),
        async (ids, shards, limit, newestFirst, salt) => {
          const { page } = memoryShards(ids, shards, (id) => (((id ^ salt) * 2654435761) % shards) >>> 0);
          const { seen } = await walk(page, shards, limit, newestFirst);
          const expected = [...ids].sort((a, b) => (newestFirst ? b - a : a - b));
          expect(seen).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('resumes from the positions a sealed cursor carries, and old cursors still open', async () => {
    const key = randomBytes(32);
    const ids = Array.from({ length: 500 }, (_, i) => idFor(NOW + i * 7, i % 512));
    const plans: ShardPlans = [{ from: NOW, shards: 8 }];
    const { page } = memoryShards(ids, 8, (id) => shardOf(id, plans));
    const first = await page(new Array(8).fill(undefined), 50, true);
    const state: CursorState = {
      tenant: 'acme',
      dialect: 'canary',
      filters: 'f',
      direction: 'next',
      boundaryId: first.items.at(-1) as number,
      page: 2,
      pageCount: 10,
      pageSize: 50,
      expiresAt: NOW + 60_000,
      shardPositions: first.positions,
    };
    const expectation = { tenant: 'acme', dialect: 'canary', filters: 'f', now: NOW, field: 'cursor' };
    const opened = openCursor(sealCursor(state, key), key, expectation);
    expect(opened.shardPositions).toEqual(first.positions);
    const second = await page(opened.shardPositions ?? [], 50, true);
    const expected = [...ids].sort((a, b) => b - a);
    expect([...first.items, ...second.items]).toEqual(expected.slice(0, 100));
    // A cursor without positions is the version-1 cursor, byte for byte.
    const { shardPositions: _positions, ...unsharded } = state;
    const v1 = sealCursor(unsharded, key);
    expect(JSON.parse(Buffer.from(v1.split('.')[0] as string, 'base64url').toString())).toHaveLength(10);
    expect(openCursor(v1, key, expectation)).toEqual(unsharded);
  });

  it('reads at most 1.1 items per item returned for a 100-entry page over 16 shards', async () => {
    // A filtered selector: one action of a hot tenant, 4% of 10,000 events/s over one minute.
    const plans: ShardPlans = [{ from: NOW, shards: 16 }];
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 0x1_0000_0000;
    };
    const ids: number[] = [];
    for (let ms = 0; ms < 60_000; ms += 1) {
      for (let sequence = 0; sequence < 10; sequence += 1) {
        if (random() < 0.04) ids.push(idFor(NOW + ms, Math.floor(random() * CONDITIONAL_SEQUENCE_START)));
      }
    }
    const unique = [...new Set(ids)];
    const { page, requests } = memoryShards(unique, 16, (id) => shardOf(id, plans));
    const { seen, read } = await walk(
      async (positions, limit, newestFirst) => page(positions, limit, newestFirst),
      16,
      100,
      true,
    );
    expect(seen).toHaveLength(unique.length);
    expect(read / seen.length).toBeLessThanOrEqual(1.1);
    // And no page is read one entry at a time.
    const pages = Math.ceil(unique.length / 100);
    expect(requests.length / pages).toBeLessThan(16 * 4);
  });
});
