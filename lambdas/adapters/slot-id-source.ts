import { randomUUID } from 'node:crypto';
import { type IdAssignment, SlotIdAllocator } from '../domain/id-slots.js';
import type { IdSlotStore } from '../ports/id-slots.js';
import type { IdSource } from '../ports/id-source.js';
import { log } from './log.js';

export interface SlotIdSourceOptions {
  /** How long a reservation runs; it is renewed when half of it is left. */
  readonly leaseMs?: number;
  /** After finding every slot held, how long to use conditional ids before looking again. */
  readonly retryAcquireMs?: number;
  readonly clock?: () => number;
  readonly random?: () => number;
}

/**
 * Ids from a slot this writer (one per container) reserves and keeps renewing, so the request
 * path pays one conditional write every few minutes rather than one per entry. With every slot
 * held (more live writers than slots), ids are conditional candidates until a slot frees up.
 */
export class SlotIdSource implements IdSource {
  readonly #store: IdSlotStore;
  readonly #allocator = new SlotIdAllocator();
  readonly #writer = randomUUID();
  readonly #leaseMs: number;
  readonly #retryAcquireMs: number;
  readonly #clock: () => number;
  readonly #random: () => number;
  #nextAcquire = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;

  constructor(store: IdSlotStore, options: SlotIdSourceOptions = {}) {
    this.#store = store;
    this.#leaseMs = options.leaseMs ?? 5 * 60_000;
    this.#retryAcquireMs = options.retryAcquireMs ?? 10_000;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  async assign(timestamps: readonly (number | undefined)[]): Promise<IdAssignment[]> {
    await this.#keepReservation(this.#clock());
    return this.#allocator.assign(timestamps, this.#clock(), this.#random);
  }

  /**
   * Renews the reservation when half its lease is left, behind the request: the request goes on
   * with the reservation it has, which still runs for minutes (a renewal that fails, say a
   * throttled write, is tried again by the next request). A request waits only when there is no
   * reservation, or too little of it left (a tenth of the lease: a container frozen for minutes).
   */
  async #keepReservation(now: number): Promise<void> {
    const current = this.#allocator.reservation;
    const due = current ? current.until - now < this.#leaseMs / 2 : now >= this.#nextAcquire;
    if (!due) return;
    // Concurrent requests in one container share one renewal.
    this.#pending ??= this.#refresh(now).finally(() => {
      this.#pending = undefined;
    });
    if (current && current.until - now >= this.#leaseMs / 10) {
      this.#pending.catch((error: unknown) => {
        log.warn('id slot renewal failed; the reservation in hand still runs', {
          slot: current.slot,
          until: current.until,
          error: error instanceof Error ? error.name : String(error),
        });
      });
      return;
    }
    await this.#pending;
  }

  async #refresh(now: number): Promise<void> {
    const current = this.#allocator.reservation;
    const until = now + this.#leaseMs;
    const renewed = current ? await this.#store.renew(this.#writer, current, until) : undefined;
    if (renewed) {
      this.#allocator.use(renewed);
      return;
    }
    const acquired = await this.#store.acquire(this.#writer, now, until);
    this.#allocator.use(acquired);
    if (!acquired) this.#nextAcquire = now + this.#retryAcquireMs;
  }
}
