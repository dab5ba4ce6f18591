import type { IdAssignment } from '../domain/id-slots.js';

/** Hands out entry ids that no other writer can hand out (see domain/id-slots.ts). */
export interface IdSource {
  /**
   * Ids for entries with these timestamps (undefined: "now", which may move forward a few
   * milliseconds when the current one is full), in order.
   */
  assign(timestamps: readonly (number | undefined)[]): Promise<IdAssignment[]>;
}
