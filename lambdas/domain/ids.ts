/**
 * Entry ids: 53-bit safe integers, `(timestamp_ms − ID_EPOCH_MS) × 1024 + sequence`. They are
 * unique per tenant (a conditional put picks the next free sequence on collision) and sort like
 * time, so "a date range" and "everything up to id N" are both key conditions on the sort key.
 */
export const ID_EPOCH_MS = Date.UTC(2000, 0, 1);
export const SEQUENCES_PER_MS = 1024;
/** The last millisecond an id can encode (year 2278). */
export const MAX_ID_TIMESTAMP_MS = ID_EPOCH_MS + Math.floor(Number.MAX_SAFE_INTEGER / SEQUENCES_PER_MS);

/** True when `timestamp` (epoch ms) can be encoded in an id. */
export const isEncodableTimestamp = (timestamp: number): boolean =>
  Number.isInteger(timestamp) && timestamp >= ID_EPOCH_MS && timestamp <= MAX_ID_TIMESTAMP_MS;

/** The id for `sequence` within millisecond `timestamp`. */
export const idFor = (timestamp: number, sequence: number): number => {
  if (!isEncodableTimestamp(timestamp))
    throw new RangeError(`timestamp ${timestamp} is outside the id range`);
  if (!Number.isInteger(sequence) || sequence < 0 || sequence >= SEQUENCES_PER_MS) {
    throw new RangeError(`sequence ${sequence} is outside 0..${SEQUENCES_PER_MS - 1}`);
  }
  return (timestamp - ID_EPOCH_MS) * SEQUENCES_PER_MS + sequence;
};

/** The millisecond an id was allocated in. */
export const timestampOfId = (id: number): number => Math.floor(id / SEQUENCES_PER_MS) + ID_EPOCH_MS;

/** The smallest id of millisecond `timestamp` (clamped to the id range). */
export const firstIdAt = (timestamp: number): number =>
  idFor(Math.min(Math.max(timestamp, ID_EPOCH_MS), MAX_ID_TIMESTAMP_MS), 0);

/** The largest id of millisecond `timestamp` (clamped to the id range). */
export const lastIdAt = (timestamp: number): number =>
  idFor(Math.min(Math.max(timestamp, ID_EPOCH_MS), MAX_ID_TIMESTAMP_MS), SEQUENCES_PER_MS - 1);

/** The largest id there can be. */
export const MAX_ID = lastIdAt(MAX_ID_TIMESTAMP_MS);

/**
 * Picks consecutive ids for `count` entries of one millisecond. The starting sequence is random so
 * that concurrent writers in the same millisecond rarely collide; a collision is resolved by the
 * store retrying with a fresh start.
 */
export const allocateIds = (
  timestamp: number,
  count: number,
  random: () => number = Math.random,
): number[] => {
  if (count < 1 || count > SEQUENCES_PER_MS)
    throw new RangeError(`cannot allocate ${count} ids in one millisecond`);
  const start = Math.floor(random() * (SEQUENCES_PER_MS - count + 1));
  return Array.from({ length: count }, (_, offset) => idFor(timestamp, start + offset));
};
