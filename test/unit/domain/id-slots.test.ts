import fc from 'fast-check';
import { SlotIdSource } from '../../../lambdas/adapters/slot-id-source.js';
import {
  CONDITIONAL_SEQUENCE_START,
  conditionalRange,
  freeConditionalId,
  isSlotId,
  SLOT_MEMORY_MS,
  SLOT_WIDTH,
  SlotIdAllocator,
  type SlotReservation,
} from '../../../lambdas/domain/id-slots.js';
import { SEQUENCES_PER_MS, timestampOfId } from '../../../lambdas/domain/ids.js';
import type { IdSlotStore } from '../../../lambdas/ports/id-slots.js';

const NOW = Date.UTC(2026, 10, 30, 12);

describe('SlotIdAllocator', () => {
  it('hands out the slot’s own sequences, in its reserved range only', () => {
    const allocator = new SlotIdAllocator();
    allocator.use({ slot: 3, from: NOW - 1000, until: NOW + 1000 });
    const ids = allocator.assign([NOW, NOW, NOW - 500], NOW);
    expect(ids.map((assignment) => assignment.conditional)).toEqual([false, false, false]);
    expect(ids.map((assignment) => assignment.id % SEQUENCES_PER_MS)).toEqual([12, 13, 12]);
    // Outside the range (the previous holder's milliseconds, or past the reservation): conditional.
    const outside = allocator.assign([NOW - 1000, NOW + 1001], NOW);
    expect(outside.every((assignment) => assignment.conditional)).toBe(true);
    expect(
      outside.every((assignment) => assignment.id % SEQUENCES_PER_MS >= CONDITIONAL_SEQUENCE_START),
    ).toBe(true);
  });

  it('spreads a server-stamped batch over the next milliseconds once one is full', () => {
    const allocator = new SlotIdAllocator();
    allocator.use({ slot: 0, from: NOW - 1, until: NOW + 60_000 });
    const ids = allocator.assign(new Array(20).fill(undefined), NOW);
    expect(ids.every((assignment) => !assignment.conditional)).toBe(true);
    expect(ids.map((assignment) => assignment.timestamp)).toEqual(
      Array.from({ length: 20 }, (_, index) => NOW + Math.floor(index / SLOT_WIDTH)),
    );
    expect(ids.every((assignment) => timestampOfId(assignment.id) === assignment.timestamp)).toBe(true);
  });

  it('sends the fifth entry with the same client timestamp to the conditional space', () => {
    const allocator = new SlotIdAllocator();
    allocator.use({ slot: 5, from: NOW - 10, until: NOW + 10 });
    const ids = allocator.assign(new Array(SLOT_WIDTH + 1).fill(NOW - 5), NOW);
    expect(ids.filter((assignment) => assignment.conditional)).toHaveLength(1);
    expect(ids.every((assignment) => assignment.timestamp === NOW - 5)).toBe(true);
  });

  it('forgets milliseconds older than its memory and never hands them out again', () => {
    const allocator = new SlotIdAllocator();
    allocator.use({ slot: 1, from: NOW - 10 * SLOT_MEMORY_MS, until: NOW + 10 * SLOT_MEMORY_MS });
    allocator.assign([NOW], NOW);
    const later = NOW + SLOT_MEMORY_MS + 5_000;
    const [old] = allocator.assign([NOW], later);
    expect(old?.conditional).toBe(true);
  });

  it('never repeats an id, across extensions of one reservation (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            advance: fc.integer({ min: 0, max: 3_000 }),
            timestamps: fc.array(fc.option(fc.integer({ min: -200_000, max: 200_000 }), { nil: undefined }), {
              maxLength: 40,
            }),
            extend: fc.boolean(),
          }),
          { maxLength: 30 },
        ),
        (steps) => {
          const allocator = new SlotIdAllocator();
          let reservation: SlotReservation = { slot: 7, from: NOW - 100_000, until: NOW + 100_000 };
          allocator.use(reservation);
          let now = NOW;
          const seen = new Set<number>();
          for (const step of steps) {
            now += step.advance;
            if (step.extend) {
              reservation = { ...reservation, until: reservation.until + 50_000 };
              allocator.use(reservation);
            }
            const given = step.timestamps.map((offset) => (offset === undefined ? undefined : now + offset));
            for (const assignment of allocator.assign(given, now)) {
              if (assignment.conditional) continue;
              expect(seen.has(assignment.id)).toBe(false);
              seen.add(assignment.id);
              expect(isSlotId(assignment.id)).toBe(true);
              expect(assignment.timestamp).toBeGreaterThan(reservation.from);
              expect(assignment.timestamp).toBeLessThanOrEqual(reservation.until);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('freeConditionalId', () => {
  it('picks a conditional id of the millisecond that is not taken, and none when all are', () => {
    const { first, last } = conditionalRange(NOW);
    const all = Array.from({ length: last - first + 1 }, (_, n) => first + n);
    const taken = new Set(all.filter((id) => id !== first + 7 && id !== last));
    expect([first + 7, last]).toContain(freeConditionalId(NOW, taken, () => 0.5));
    expect(freeConditionalId(NOW, new Set(all), () => 0.5)).toBeUndefined();
    expect(all.every((id) => timestampOfId(id) === NOW && !isSlotId(id))).toBe(true);
  });

  it('spreads entries with the same random draw over the free ids by their own turn', () => {
    const picks = new Set(
      Array.from({ length: 16 }, (_, n) => freeConditionalId(NOW, new Set(), () => 0.5, n * 7919)),
    );
    expect(picks.size).toBe(16);
  });
});

/** An in-memory slot store with the DynamoDB store's hand-over rule. */
const memorySlots = (): IdSlotStore & { acquired: number; renewed: number } => {
  const slots = new Map<number, { writer: string; from: number; until: number }>();
  const store = {
    acquired: 0,
    renewed: 0,
    acquire: async (writer: string, now: number, until: number) => {
      for (let slot = 0; slot < 2; slot += 1) {
        const held = slots.get(slot);
        if (held && held.until >= now) continue;
        const from = held?.until ?? now;
        slots.set(slot, { writer, from, until });
        store.acquired += 1;
        return { slot, from, until };
      }
      return undefined;
    },
    renew: async (writer: string, reservation: SlotReservation, until: number) => {
      const held = slots.get(reservation.slot);
      if (!held || held.writer !== writer || held.until !== reservation.until) return undefined;
      held.until = until;
      store.renewed += 1;
      return { ...reservation, until };
    },
  };
  return store;
};

describe('SlotIdSource', () => {
  it('reserves once, renews when half the lease is left, and shares one renewal between concurrent calls', async () => {
    const store = memorySlots();
    let now = NOW;
    const source = new SlotIdSource(store, { leaseMs: 60_000, clock: () => now });
    await Promise.all([source.assign([undefined]), source.assign([undefined]), source.assign([undefined])]);
    expect(store.acquired).toBe(1);
    now += 20_000;
    await source.assign([undefined]);
    expect(store.renewed).toBe(0);
    now += 15_000;
    await Promise.all([source.assign([undefined]), source.assign([undefined])]);
    // The renewal runs behind the requests.
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.renewed).toBe(1);
  });

  it('renews behind the request: no request waits for a renewal, or fails with it, while its reservation runs', async () => {
    // Prepare: a store whose renewals hang until released, then fail once.
    const store = memorySlots();
    let release: (() => void) | undefined;
    let failNext = false;
    const renew = store.renew;
    store.renew = async (writer, reservation, until) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      if (failNext) {
        failNext = false;
        throw new Error('ProvisionedThroughputExceededException');
      }
      return renew(writer, reservation, until);
    };
    let now = NOW;
    const source = new SlotIdSource(store, { leaseMs: 60_000, clock: () => now });
    await source.assign([undefined]);

    // Act: past half the lease, while the renewal hangs; then a renewal that fails.
    now += 35_000;
    const during = await source.assign([undefined, undefined]);
    failNext = true;
    release?.();
    await new Promise((resolve) => setImmediate(resolve));
    now += 1_000;
    const afterFailure = await source.assign([undefined]);
    release?.();
    await new Promise((resolve) => setImmediate(resolve));

    // Assess: slot ids throughout, the renewal tried again by the next request, and it held.
    expect([...during, ...afterFailure].every((assignment) => !assignment.conditional)).toBe(true);
    expect(store.renewed).toBe(1);
    now += 25_000;
    const [later] = await source.assign([undefined]);
    expect(later?.conditional).toBe(false);
  });

  it('waits for the renewal when the reservation has all but run out (a container frozen for minutes)', async () => {
    // Prepare
    const store = memorySlots();
    let now = NOW;
    const source = new SlotIdSource(store, { leaseMs: 60_000, clock: () => now });
    await source.assign([undefined]);

    // Act: 55 s into a 60 s lease, then past it.
    now += 55_000;
    const [nearlyOut] = await source.assign([undefined]);
    const renewedAt = store.renewed;
    now += 70_000;
    const [lapsed] = await source.assign([undefined]);

    // Assess: each request waited for its renewal, so its id comes from a reservation in force.
    expect(renewedAt).toBe(1);
    expect(store.renewed).toBe(2);
    expect(nearlyOut?.conditional).toBe(false);
    expect(lapsed?.conditional).toBe(false);
  });

  it('falls back to conditional ids while every slot is held, and looks again later', async () => {
    const store = memorySlots();
    let now = NOW;
    const holders = [
      new SlotIdSource(store, { clock: () => now }),
      new SlotIdSource(store, { clock: () => now }),
    ];
    for (const holder of holders) await holder.assign([undefined]);
    const third = new SlotIdSource(store, { clock: () => now, retryAcquireMs: 1_000, leaseMs: 60_000 });
    const [first] = await third.assign([undefined]);
    expect(first?.conditional).toBe(true);
    // The holders stop renewing (their containers went away): after their lease, a slot is free.
    now += 6 * 60_000;
    const [later] = await third.assign([undefined]);
    expect(later?.conditional).toBe(false);
  });
});
