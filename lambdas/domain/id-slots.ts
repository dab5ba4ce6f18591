import { idFor, SEQUENCES_PER_MS } from './ids.js';

/**
 * Unique ids without a conditional write per entry.
 *
 * An id is `(ms − epoch) × 1024 + sequence`. The 1024 sequences of every millisecond are split:
 * the first `SLOT_COUNT × SLOT_WIDTH` into slots of `SLOT_WIDTH` sequences, the rest kept for
 * conditional writes. A writer reserves one slot for a range of milliseconds (a `SlotReservation`,
 * taken with one conditional write to the store, for minutes at a time). Reservations of one slot
 * never overlap: a new holder's range starts after the previous holder's range ended, whatever the
 * clocks say, because the store hands the slot over only with the previous `until` in hand. So an
 * id made from a slot's sequences at a millisecond inside the holder's range can exist only if the
 * holder wrote it, and the holder never hands it out twice: plain BatchWriteItem cannot overwrite
 * another writer's entry.
 *
 * Timestamps outside the range (events back-dated further than the writer's memory, or stamped
 * beyond the reservation) and overflows (more than `SLOT_WIDTH` entries with the same client
 * timestamp) take the conditional half of the sequences instead, one conditional put each.
 *
 * The split (128 slots of 4, 512 conditional) weighs: 128 writers at once before any has to
 * write conditionally; 4,000 server-stamped ids per second per writer (a batch spreads over the
 * next milliseconds); and room for bursts of events sharing one client timestamp.
 */
export const SLOT_WIDTH = 4;
export const SLOT_COUNT = 128;
/** The first sequence of the conditional space; slots use the sequences below it. */
export const CONDITIONAL_SEQUENCE_START = SLOT_WIDTH * SLOT_COUNT;

/** How far back (ms) a writer remembers which sequences it used; older timestamps go conditional. */
export const SLOT_MEMORY_MS = 120_000;

/** One writer's claim on one slot for the milliseconds after `from`, up to and including `until`. */
export interface SlotReservation {
  readonly slot: number;
  /** Exclusive: the previous holder may have used this millisecond. */
  readonly from: number;
  /** Inclusive: the last millisecond this reservation covers. */
  readonly until: number;
}

/**
 * An entry's id and timestamp. A conditional id is only a candidate: it must be written with a
 * condition, and replaced by another candidate if that id is taken.
 */
export interface IdAssignment {
  readonly id: number;
  readonly timestamp: number;
  readonly conditional: boolean;
}

/** A random sequence of the conditional space for `timestamp`. */
export const conditionalIdFor = (timestamp: number, random: () => number = Math.random): number =>
  idFor(
    timestamp,
    CONDITIONAL_SEQUENCE_START + Math.floor(random() * (SEQUENCES_PER_MS - CONDITIONAL_SEQUENCE_START)),
  );

/**
 * A conditional id at `timestamp` that is not in `taken` (the ids found stored at that
 * millisecond), or undefined when all of its conditional space is taken. Which free one is
 * random, turned by `spread` (the entry's own, say its hash): entries of concurrent writers that
 * read the same free ids at once, even with the same random draw, rarely pick the same one.
 */
export const freeConditionalId = (
  timestamp: number,
  taken: ReadonlySet<number>,
  random: () => number = Math.random,
  spread = 0,
): number | undefined => {
  const free: number[] = [];
  for (let sequence = CONDITIONAL_SEQUENCE_START; sequence < SEQUENCES_PER_MS; sequence += 1) {
    const id = idFor(timestamp, sequence);
    if (!taken.has(id)) free.push(id);
  }
  if (free.length === 0) return undefined;
  return free[(Math.floor(random() * free.length) + Math.abs(Math.trunc(spread))) % free.length];
};

/** The first and last ids of the conditional space of `timestamp`. */
export const conditionalRange = (timestamp: number): { readonly first: number; readonly last: number } => ({
  first: idFor(timestamp, CONDITIONAL_SEQUENCE_START),
  last: idFor(timestamp, SEQUENCES_PER_MS - 1),
});

/** True when `id` was made from a slot (so it was written without a condition). */
export const isSlotId = (id: number): boolean => id % SEQUENCES_PER_MS < CONDITIONAL_SEQUENCE_START;

/**
 * Hands out the ids of one slot reservation. It remembers, per millisecond, how many of the slot's
 * sequences it used; milliseconds older than `SLOT_MEMORY_MS` before the newest `now` it saw are
 * forgotten and no longer handed out, which bounds its memory.
 */
export class SlotIdAllocator {
  readonly #used = new Map<number, number>();
  #reservation: SlotReservation | undefined;
  #floor = Number.NEGATIVE_INFINITY;

  /** The reservation ids are taken from, if any. */
  get reservation(): SlotReservation | undefined {
    return this.#reservation;
  }

  /**
   * Switches to a reservation. Extending the current one (same slot and start) keeps the memory;
   * a different slot or range starts afresh.
   */
  use(reservation: SlotReservation | undefined): void {
    const current = this.#reservation;
    if (!reservation || !current || reservation.slot !== current.slot || reservation.from !== current.from) {
      this.#used.clear();
    }
    this.#reservation = reservation;
  }

  /**
   * Assigns ids to entries in order. `timestamps[i]` is the entry's own time, or undefined for
   * "now": such an entry may move forward by whole milliseconds when `now` is full, so its
   * timestamp is returned with its id.
   */
  assign(
    timestamps: readonly (number | undefined)[],
    now: number,
    random: () => number = Math.random,
  ): IdAssignment[] {
    this.#forgetBefore(now - SLOT_MEMORY_MS);
    let nextNow = now;
    // Conditional candidates of one millisecond are consecutive from a random start, so the
    // entries of one call never collide with each other.
    const nextCandidate = new Map<number, number>();
    const conditional = (timestamp: number): IdAssignment => {
      const sequence = nextCandidate.get(timestamp) ?? conditionalIdFor(timestamp, random) % SEQUENCES_PER_MS;
      nextCandidate.set(
        timestamp,
        sequence + 1 < SEQUENCES_PER_MS ? sequence + 1 : CONDITIONAL_SEQUENCE_START,
      );
      return { id: idFor(timestamp, sequence), timestamp, conditional: true };
    };
    return timestamps.map((given) => {
      if (given !== undefined) {
        const id = this.#take(given);
        return id === undefined ? conditional(given) : { id, timestamp: given, conditional: false };
      }
      // "Now" fills the current millisecond, then the next ones: a server-stamped batch spreads
      // over a few milliseconds rather than falling back to conditional writes.
      // A fresh reservation starts after the millisecond it was taken in: move on to the next.
      const from = this.#reservation?.from;
      if (from !== undefined && nextNow <= from) nextNow = from + 1;
      for (;;) {
        if (!this.#covers(nextNow)) return conditional(now);
        const id = this.#take(nextNow);
        if (id !== undefined) return { id, timestamp: nextNow, conditional: false };
        nextNow += 1;
      }
    });
  }

  #covers(timestamp: number): boolean {
    const reservation = this.#reservation;
    return (
      reservation !== undefined &&
      timestamp > reservation.from &&
      timestamp <= reservation.until &&
      timestamp >= this.#floor
    );
  }

  #take(timestamp: number): number | undefined {
    if (!this.#covers(timestamp)) return undefined;
    const used = this.#used.get(timestamp) ?? 0;
    if (used >= SLOT_WIDTH) return undefined;
    this.#used.set(timestamp, used + 1);
    const slot = (this.#reservation as SlotReservation).slot;
    return idFor(timestamp, slot * SLOT_WIDTH + used);
  }

  #forgetBefore(floor: number): void {
    // Sweeping the memory costs a pass over it: once a second is plenty.
    if (floor < this.#floor + 1000) return;
    this.#floor = floor;
    for (const timestamp of this.#used.keys()) if (timestamp < floor) this.#used.delete(timestamp);
  }
}
