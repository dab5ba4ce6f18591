import { describe, expect, it } from '@jest/globals';
import {
  allocateIds,
  firstIdAt,
  ID_EPOCH_MS,
  idFor,
  isEncodableTimestamp,
  lastIdAt,
  MAX_ID,
  MAX_ID_TIMESTAMP_MS,
  timestampOfId,
} from '../../../lambdas/domain/ids.js';

describe('Module: ids', () => {
  it('orders ids like time and recovers the millisecond', () => {
    const t = Date.UTC(2026, 3, 17, 11, 58, 10, 123);
    expect(idFor(t, 0)).toBeLessThan(idFor(t, 1));
    expect(idFor(t, 1023)).toBeLessThan(idFor(t + 1, 0));
    expect(timestampOfId(idFor(t, 777))).toBe(t);
    expect(firstIdAt(t)).toBe(idFor(t, 0));
    expect(lastIdAt(t)).toBe(idFor(t, 1023));
  });

  it('keeps every id a safe integer', () => {
    expect(Number.isSafeInteger(MAX_ID)).toBe(true);
    expect(isEncodableTimestamp(MAX_ID_TIMESTAMP_MS)).toBe(true);
    expect(isEncodableTimestamp(MAX_ID_TIMESTAMP_MS + 1)).toBe(false);
    expect(isEncodableTimestamp(ID_EPOCH_MS - 1)).toBe(false);
    expect(isEncodableTimestamp(1.5 + ID_EPOCH_MS)).toBe(false);
  });

  it('rejects sequences and timestamps out of range', () => {
    expect(() => idFor(ID_EPOCH_MS, 1024)).toThrow(RangeError);
    expect(() => idFor(ID_EPOCH_MS, -1)).toThrow(RangeError);
    expect(() => idFor(ID_EPOCH_MS - 1, 0)).toThrow(RangeError);
  });

  it('allocates consecutive ids inside one millisecond', () => {
    const t = Date.UTC(2026, 0, 1);
    for (const random of [() => 0, () => 0.5, () => 0.999999]) {
      const ids = allocateIds(t, 100, random);
      expect(ids).toHaveLength(100);
      expect(ids.every((id, index) => index === 0 || id === (ids[index - 1] as number) + 1)).toBe(true);
      expect(ids.every((id) => timestampOfId(id) === t)).toBe(true);
    }
    expect(() => allocateIds(t, 1025)).toThrow(RangeError);
  });
});
