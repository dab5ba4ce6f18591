import type { SlotReservation } from '../domain/id-slots.js';

/**
 * Where writers reserve id slots (see domain/id-slots.ts). A slot passes to a new holder only
 * when its reservation has run out, and the new range starts where the old one ended.
 */
export interface IdSlotStore {
  /** Reserves a free slot for `writer` until `until`; undefined when every slot is held. */
  acquire(writer: string, now: number, until: number): Promise<SlotReservation | undefined>;
  /** Extends `reservation` to `until`; undefined when the slot was lost (it had run out). */
  renew(writer: string, reservation: SlotReservation, until: number): Promise<SlotReservation | undefined>;
}
