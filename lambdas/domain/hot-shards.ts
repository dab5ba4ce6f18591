import { isSlotId } from './id-slots.js';
import { timestampOfId } from './ids.js';

/**
 * Hot tenants: one tenant's entries spread over `k` write shards when its rate needs it.
 *
 * A tenant is one partition key, and DynamoDB serves one partition key at most 1,000 write units
 * a second. A tenant writing faster than that is given a **shard plan**: from a recorded time on,
 * its entries go to `k` partition keys instead of one. Plans are recorded per tenant as
 * `{ from, shards }` items, appended only, each taking effect at least `PLAN_LEAD_MS` after it
 * was recorded; a plan applies to the entries whose id falls at or after its `from` (ids sort like
 * time). So the layout of any past time range never changes, and a reader or writer that
 * reloads the plans every `PLAN_CACHE_MS` (< `PLAN_LEAD_MS`) always knows the layout of every id
 * it can write or read.
 *
 * - Shard 0 is today's partition key (`shardPartition(tenant, 0) === tenant`): a tenant without a
 *   plan (k = 1) and every entry written before its first plan are exactly where they always were.
 * - An entry's shard is a function of its id and the plans (`shardOf`): a slot id (unique across
 *   writers by construction) is spread by a hash of the id; a conditional id (back-dated imports,
 *   overflow) always goes to shard 0, so the conditional put that makes it unique checks the one
 *   partition that can hold it. Purge finds every entry's partition from its id alone.
 * - A reader of an id range queries shards `0 … shardsOver(range) − 1` and merges them in id
 *   order (`mergeShards`), with cursors that carry a position per shard.
 */

/** One recorded layout: entries with ids from `from` (epoch ms, inclusive) on use `shards` shards. */
export interface ShardPlan {
  readonly from: number;
  readonly shards: number;
}

/** A tenant's plans, in `from` order (empty: k = 1 for all time). */
export type ShardPlans = readonly ShardPlan[];

/** Most shards a plan may have (64 × 1,000 WCU/s per partition key ≈ 60k events/s for one tenant). */
export const MAX_SHARDS = 64;
/**
 * How long after it is recorded a plan takes effect. Longer than a writer's plan cache plus the
 * furthest ahead a slot id can be stamped (an id slot's reservation lease, 5 minutes), so no
 * writer can write an id under a plan it has not seen.
 */
export const PLAN_LEAD_MS = 7 * 60_000;
/** How long a reader or writer may use plans it read from the store. */
export const PLAN_CACHE_MS = 60_000;
/**
 * The furthest ahead of its writer's clock a slot id can be stamped (its reservation's 5-minute
 * lease) plus a minute of clock skew: a reader at `now` finds no slot id later than this, so plans
 * taking effect after it (recorded, pending) do not widen its reads yet. Under `PLAN_LEAD_MS`.
 */
export const WRITE_AHEAD_MS = 6 * 60_000;

/** The number of shards in effect for an entry stamped `time` (epoch ms). */
export const shardsAt = (plans: ShardPlans, time: number): number => {
  let shards = 1;
  for (const plan of plans) {
    if (plan.from > time) break;
    shards = plan.shards;
  }
  return shards;
};

/**
 * The number of shards a reader of entries stamped between `fromTime` and `toTime` (inclusive)
 * must query: the most of any plan in effect in that range (up to what can have been written by
 * `now`, when given). Shard numbers are a prefix (0 … k − 1), so the shards of a smaller plan are
 * among them.
 */
export const shardsOver = (plans: ShardPlans, fromTime: number, toTime: number, now?: number): number => {
  // Only conditional ids (shard 0) lie beyond `now + WRITE_AHEAD_MS`: later plans hold nothing yet.
  if (now !== undefined) toTime = Math.min(toTime, now + WRITE_AHEAD_MS);
  let shards = shardsAt(plans, Math.min(fromTime, toTime));
  for (const plan of plans) {
    if (plan.from > fromTime && plan.from <= toTime) shards = Math.max(shards, plan.shards);
  }
  return shards;
};

/** The most shards any plan has (what a reader of all time must query). */
export const maxShards = (plans: ShardPlans): number =>
  plans.reduce((most, plan) => Math.max(most, plan.shards), 1);

/**
 * Write shards per counter partition. A hot tenant's counters are written once per consumer chunk
 * (not per entry), so they need far fewer partitions than its entries: at 10,000 entries a second
 * the counter partition of an unsharded tenant takes about 1,100 WCU/s (bench/hot-tenants.ts), so
 * one counter partition per 4 write shards keeps each near 300, and a reader sums k ÷ 4 of them.
 */
export const SHARDS_PER_COUNTER_PART = 4;

/** The counter partitions of a tenant on `shards` write shards. */
export const counterPartsFor = (shards: number): number => Math.ceil(shards / SHARDS_PER_COUNTER_PART);

/** A 32-bit mix of a 53-bit id (murmur3's finalizer over both halves). */
const mix = (id: number): number => {
  const low = id >>> 0;
  const high = Math.floor(id / 0x1_0000_0000) >>> 0;
  let h = (low ^ Math.imul(high, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/** The shard an entry with `id` is written to under `plans` (0 when k = 1 or the id is conditional). */
export const shardOf = (id: number, plans: ShardPlans): number => {
  if (plans.length === 0 || !isSlotId(id)) return 0;
  const shards = shardsAt(plans, timestampOfId(id));
  return shards <= 1 ? 0 : mix(id) % shards;
};

/**
 * The partition key value of a tenant's shard: the tenant itself for shard 0, `tenant~<shard>`
 * otherwise. Tenant names cannot hold `~` or `#` (`TENANT_PATTERN`), so no shard key can be
 * another tenant's key, and index keys built on it (`tenant~3#action`) cannot collide either.
 */
export const shardPartition = (tenant: string, shard: number): string =>
  shard === 0 ? tenant : `${tenant}~${shard}`;

/** The tenant and shard a partition key value names (the inverse of `shardPartition`). */
export const parseShardPartition = (partition: string): { tenant: string; shard: number } => {
  const at = partition.lastIndexOf('~');
  if (at < 0) return { tenant: partition, shard: 0 };
  const shard = Number(partition.slice(at + 1));
  return Number.isSafeInteger(shard) && shard > 0
    ? { tenant: partition.slice(0, at), shard }
    : { tenant: partition, shard: 0 };
};

// ---- choosing k from measured load ----

/** How plans are chosen. */
export interface PlannerSettings {
  /** Write units a second one partition key is planned to carry (DynamoDB's hard limit is 1,000). */
  readonly targetUnitsPerKey: number;
  /** Write units one entry costs in its base-table partition (items up to 1 KB: 1). */
  readonly unitsPerEntry: number;
  /** Most shards a plan may have. */
  readonly maxShards: number;
  /** No plan changes sooner than this after the previous one took effect (ms). */
  readonly minPlanIntervalMs: number;
}

export const DEFAULT_PLANNER: PlannerSettings = {
  // 30% headroom: hashing spreads a second's entries only statistically, and bursts happen.
  targetUnitsPerKey: 700,
  unitsPerEntry: 1,
  maxShards: MAX_SHARDS,
  minPlanIntervalMs: 60 * 60_000,
};

const powerOfTwoAtLeast = (value: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, value)));

/** The shards a rate (entries a second, the peak second measured) needs: a power of two. */
export const shardsNeeded = (ratePerSecond: number, settings: PlannerSettings = DEFAULT_PLANNER): number =>
  Math.min(
    settings.maxShards,
    powerOfTwoAtLeast((ratePerSecond * settings.unitsPerEntry) / settings.targetUnitsPerKey),
  );

/**
 * The plan to record now, if any, for a tenant whose peak rate over the last measurement window
 * was `ratePerSecond`. With hysteresis: k doubles (or more) as soon as the rate needs it; it is
 * halved (or more) only when the rate would fit in a quarter of today's shards, and no sooner than
 * `minPlanIntervalMs` after the last change; while a recorded plan has yet to take effect, only a
 * larger one follows it. The plan takes effect `PLAN_LEAD_MS` from `now`.
 */
export const choosePlan = (
  plans: ShardPlans,
  ratePerSecond: number,
  now: number,
  settings: PlannerSettings = DEFAULT_PLANNER,
): ShardPlan | undefined => {
  const last = plans.at(-1);
  const needed = shardsNeeded(ratePerSecond, settings);
  const from = now + PLAN_LEAD_MS;
  // A pending plan is only ever followed by a larger one (a tenant still ramping up).
  if (last && last.from > now) return needed > last.shards ? { from, shards: needed } : undefined;
  const current = shardsAt(plans, now);
  if (needed > current) return { from, shards: needed };
  const settled = last === undefined || now - last.from >= settings.minPlanIntervalMs;
  if (needed * 4 <= current && settled) return { from, shards: Math.max(1, current / 2, needed) };
  return undefined;
};

/**
 * Peak entries per second per tenant over a sliding window of whole seconds: what the planner is
 * fed (the stream consumer counts each batch's inserts by tenant and second).
 */
export class RateMeter {
  readonly #windowSeconds: number;
  readonly #counts = new Map<string, Map<number, number>>();

  constructor(windowSeconds = 60) {
    this.#windowSeconds = windowSeconds;
  }

  /** Records `count` entries of `tenant` written in the second holding `time` (epoch ms). */
  add(tenant: string, time: number, count = 1): void {
    const second = Math.floor(time / 1000);
    let seconds = this.#counts.get(tenant);
    if (!seconds) {
      seconds = new Map();
      this.#counts.set(tenant, seconds);
    }
    seconds.set(second, (seconds.get(second) ?? 0) + count);
  }

  /** The busiest second of `tenant` in the window ending at `now`; older seconds are forgotten. */
  peak(tenant: string, now: number): number {
    const seconds = this.#counts.get(tenant);
    if (!seconds) return 0;
    const oldest = Math.floor(now / 1000) - this.#windowSeconds;
    let peak = 0;
    for (const [second, count] of seconds) {
      if (second <= oldest) seconds.delete(second);
      else peak = Math.max(peak, count);
    }
    if (seconds.size === 0) this.#counts.delete(tenant);
    return peak;
  }
}

/**
 * What a stream consumer learns about tenants' load and turns into plans. One consumer reads one
 * stream shard, which holds only some of a sharded tenant's partition keys: it scales the rate it
 * sees by the tenant's shards over the shards it saw (`peak × k ÷ seen`), so each consumer's
 * estimate is the tenant's whole rate. A tenant is considered at most once per `everyMs`.
 */
export class ShardPlanner {
  readonly #meter: RateMeter;
  readonly #settings: PlannerSettings;
  readonly #everyMs: number;
  readonly #seen = new Map<string, Map<number, number>>();
  /** When each tenant was last considered, the shards its rate needed then, and whether a plan was asked for. */
  readonly #considered = new Map<
    string,
    { readonly at: number; readonly needed: number; readonly planned: boolean }
  >();

  constructor(
    settings: PlannerSettings = DEFAULT_PLANNER,
    options: { windowSeconds?: number; everyMs?: number } = {},
  ) {
    this.#settings = settings;
    this.#meter = new RateMeter(options.windowSeconds ?? 60);
    this.#everyMs = options.everyMs ?? 10_000;
  }

  /** Counts `count` entries of `tenant` stamped `time`, read from write shard `shard`. */
  observe(tenant: string, shard: number, time: number, count = 1): void {
    this.#meter.add(tenant, time, count);
    let shards = this.#seen.get(tenant);
    if (!shards) {
      shards = new Map();
      this.#seen.set(tenant, shards);
    }
    shards.set(shard, Math.max(shards.get(shard) ?? 0, time));
  }

  /** The tenant's estimated entries per second (its busiest second in the window). */
  rate(tenant: string, plans: ShardPlans, now: number): number {
    const peak = this.#meter.peak(tenant, now);
    const seen = [...(this.#seen.get(tenant)?.values() ?? [])].filter((time) => now - time < 60_000).length;
    return seen === 0 ? peak : (peak * Math.max(seen, shardsAt(plans, now))) / seen;
  }

  /**
   * The plan to record for `tenant` now, if any (see `choosePlan`). A tenant is asked a plan for at
   * most once per `everyMs`; but when its last look asked for none, it is looked at again as soon
   * as its rate needs more shards than then: a burst whose first chunk looked quiet is planned for
   * at the chunk that shows it, not `everyMs` later.
   */
  consider(tenant: string, plans: ShardPlans, now: number): ShardPlan | undefined {
    const rate = this.rate(tenant, plans, now);
    const needed = shardsNeeded(rate, this.#settings);
    const last = this.#considered.get(tenant);
    if (last !== undefined && now - last.at < this.#everyMs && (last.planned || needed <= last.needed))
      return undefined;
    const plan = choosePlan(plans, rate, now, this.#settings);
    this.#considered.set(tenant, { at: now, needed, planned: plan !== undefined });
    return plan;
  }
}

// ---- reading: a k-way merge in id order ----

/** One read of one shard, in the page's direction, strictly after `after`, up to `bound`. */
export interface ShardReadRequest {
  readonly shard: number;
  /** The id the read starts after (exclusive); undefined: the start of the range. */
  readonly after: number | undefined;
  /** The last id the read may return (inclusive), in the page's direction; undefined: the range's end. */
  readonly bound: number | undefined;
  readonly limit: number;
}

/** What one shard read returned: at most `limit` items in the page's direction. */
export interface ShardReadResult<T> {
  readonly items: readonly T[];
  /**
   * True when the read stopped only because it hit `limit`; false when nothing more lies up to
   * its bound (or the range's end when it had none).
   */
  readonly more: boolean;
}

export interface MergeRequest<T> {
  /** Shards 0 … shards − 1. */
  readonly shards: number;
  /** Each shard's position (the id to read after), or undefined to start at the range's start. */
  readonly positions: readonly (number | undefined)[];
  readonly limit: number;
  readonly newestFirst: boolean;
  readonly idOf: (item: T) => number;
  readonly read: (request: ShardReadRequest) => Promise<ShardReadResult<T>>;
}

export interface MergeResult<T> {
  /** At most `limit` items, in id order (descending when newest first), as one partition would give. */
  readonly items: T[];
  /**
   * Where each shard resumes: the id of the last item it contributed, else its position before.
   * Reading on from these positions gives exactly the items after this page: none skipped, none
   * repeated.
   */
  readonly positions: (number | undefined)[];
  /** True when no shard has items after the page. */
  readonly exhausted: boolean;
  /** Items read from the shards (items read ÷ items returned is the read amplification). */
  readonly itemsRead: number;
  /** Shard reads sent. */
  readonly reads: number;
}

interface ShardState<T> {
  readonly buffer: { key: number; item: T }[];
  /** Every item with a key up to this one has been read (keys rise in the page's direction). */
  covered: number;
  done: boolean;
  read: number;
}

/** The share of a shard's expected contribution the first read asks for. */
const FIRST_READ_SHARE = 0.5;
/** The share of the remaining page the next bounded reads aim at (under 1: reads rarely pass the page's end). */
const AIM = 0.85;
/** What later rounds aim at: the little that is left (measured: more only reads more, hardly fewer times). */
const LATER_AIM = 1;
/** Estimated rounds before reads fall back to fixed chunks (always progress). */
const ESTIMATED_ROUNDS = 6;

/**
 * Merges the shards of a tenant into one page, in the order one partition would return it, while
 * reading little more than the page. Ids are unique across shards (slot ids by construction,
 * conditional ids only in shard 0), so id order is a total order and a merge is exact.
 *
 * Reading every shard for a whole page would read k pages. Instead: the first round asks every
 * shard for half its expected share; from what came back, the density of entries per shard (in
 * ids) estimates how far the page reaches, and the next round reads each shard only up to a
 * bound just short of that estimate (a key-condition range: the store reads only what lies
 * there). Rounds repeat with the remaining need until the page is full; items past the page's
 * end are read only by the first round's dense shards and the last round's overshoot.
 */
export const mergeShards = async <T>(request: MergeRequest<T>): Promise<MergeResult<T>> => {
  const { shards, limit, newestFirst, idOf } = request;
  // Keys rise in the page's direction for either order.
  const keyOf = (id: number): number => (newestFirst ? -id : id);
  const idOfKey = (key: number): number => (newestFirst ? -key : key);
  const states: ShardState<T>[] = Array.from({ length: shards }, (_, shard) => {
    const position = request.positions[shard];
    return {
      buffer: [],
      covered: position === undefined ? Number.NEGATIVE_INFINITY : keyOf(position),
      done: false,
      read: 0,
    };
  });
  const positions = Array.from({ length: shards }, (_, shard) => request.positions[shard]);
  const items: T[] = [];
  let itemsRead = 0;
  let reads = 0;
  // Where the page starts: after the furthest position (the previous page's last entry; the
  // shards behind it hold nothing more before it), which the density estimate measures from.
  const known = states.flatMap((state) => (Number.isFinite(state.covered) ? [state.covered] : []));
  let origin: number | undefined = known.length > 0 ? Math.max(...known) : undefined;

  const readShard = async (shard: number, bound: number | undefined, want: number): Promise<void> => {
    const state = states[shard] as ShardState<T>;
    const after = Number.isFinite(state.covered) ? idOfKey(state.covered) : undefined;
    const result = await request.read({
      shard,
      after,
      bound: bound === undefined ? undefined : idOfKey(bound),
      limit: Math.max(1, want),
    });
    reads += 1;
    itemsRead += result.items.length;
    state.read += result.items.length;
    for (const item of result.items) state.buffer.push({ key: keyOf(idOf(item)), item });
    const last = state.buffer.at(-1);
    if (result.more) state.covered = (last as { key: number }).key;
    else if (bound === undefined) state.done = true;
    else state.covered = Math.max(state.covered, bound);
  };

  /** Emits every buffered item no unread item can precede. */
  const emit = (): void => {
    const open = states.filter((state) => !state.done);
    const frontier = open.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...open.map((s) => s.covered));
    while (items.length < limit) {
      let best: number | undefined;
      let bestKey = frontier;
      for (const [shard, state] of states.entries()) {
        const head = state.buffer[0];
        if (head && head.key <= bestKey) {
          best = shard;
          bestKey = head.key;
        }
      }
      if (best === undefined) return;
      const { key, item } = (states[best] as ShardState<T>).buffer.shift() as { key: number; item: T };
      items.push(item);
      positions[best] = idOfKey(key);
    }
  };

  // First round: half of every shard's expected share, all at once.
  const firstShare = Math.max(1, Math.ceil((limit * FIRST_READ_SHARE) / shards));
  await Promise.all(states.map((_, shard) => readShard(shard, undefined, firstShare)));
  if (origin === undefined) {
    const firstKeys = states.flatMap((state) => (state.buffer[0] ? [state.buffer[0].key] : []));
    origin = firstKeys.length > 0 ? Math.min(...firstKeys) - 1 : 0;
  }
  emit();

  for (let round = 1; items.length < limit; round += 1) {
    const open = states.flatMap((state, shard) => (state.done ? [] : [shard]));
    if (open.length === 0) break;
    const need = limit - items.length;
    const frontier = Math.min(...open.map((shard) => (states[shard] as ShardState<T>).covered));
    const aim = round === 1 ? AIM : LATER_AIM;
    const target =
      round <= ESTIMATED_ROUNDS ? estimateBound(states, open, origin, frontier, need * aim) : undefined;
    if (target === undefined) {
      // No estimate (or too many rounds): every open shard at the frontier reads a fixed share.
      const share = Math.max(1, Math.ceil(need / open.length));
      await Promise.all(
        open
          .filter((shard) => (states[shard] as ShardState<T>).covered === frontier)
          .map((shard) => readShard(shard, undefined, share)),
      );
    } else {
      await Promise.all(
        open
          .filter((shard) => (states[shard] as ShardState<T>).covered < target)
          // A shard holds about need ÷ open of the rest; twice that caps a bad estimate's cost.
          .map((shard) => readShard(shard, target, Math.ceil((2 * need) / open.length) + 1)),
      );
    }
    emit();
  }
  const exhausted = states.every((state) => state.done && state.buffer.length === 0);
  return { items, positions, exhausted, itemsRead, reads };
};

/**
 * A key up to which the open shards probably hold `AIM × need` unread items beyond what is
 * buffered, from the density (items per key unit, per shard) read so far; undefined when nothing
 * was read to estimate from.
 */
const estimateBound = <T>(
  states: readonly ShardState<T>[],
  open: readonly number[],
  origin: number,
  frontier: number,
  /** Unread items wanted up to the bound. */
  need: number,
): number | undefined => {
  let items = 0;
  let span = 0;
  for (const shard of open) {
    const state = states[shard] as ShardState<T>;
    items += state.read;
    span += Math.max(0, state.covered - origin);
  }
  if (items === 0 || span <= 0) return undefined;
  const density = items / span;
  const goal = Math.max(1, need);
  // Items up to `key`: buffered ones (known) plus the open shards' unread estimate.
  const expected = (key: number): number => {
    let count = 0;
    for (const state of states) {
      for (const entry of state.buffer) if (entry.key <= key) count += 1;
      if (!state.done && state.covered < key) count += density * (key - state.covered);
    }
    return count;
  };
  let low = frontier;
  let high = frontier + Math.max(1, Math.ceil(goal / (density * open.length)));
  while (expected(high) < goal && high - frontier < Number.MAX_SAFE_INTEGER / 4)
    high = frontier + (high - frontier) * 2;
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2);
    if (expected(middle) < goal) low = middle;
    else high = middle;
  }
  return high;
};
