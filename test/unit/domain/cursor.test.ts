import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  type CursorState,
  filterFingerprint,
  openCursor,
  sealCursor,
} from '../../../lambdas/domain/cursor.js';
import { BadRequestError } from '../../../lambdas/domain/errors.js';

const key = randomBytes(32);
const now = Date.UTC(2026, 0, 1);
const state: CursorState = {
  tenant: 'acme',
  dialect: 'canary',
  filters: filterFingerprint({ action: 'user_login' }),
  direction: 'next',
  boundaryId: 123456789,
  page: 2,
  pageCount: 103,
  pageSize: 5,
  expiresAt: now + 60_000,
};
const expected = { tenant: 'acme', dialect: 'canary', filters: state.filters, now, field: 'cursor' };

const rejection = (text: string, expectation = expected): string => {
  try {
    openCursor(text, key, expectation);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return (error as Error).message;
  }
  throw new Error('cursor was accepted');
};

describe('Function: sealCursor / openCursor', () => {
  it('round-trips a cursor in URL-safe characters', () => {
    const text = sealCursor(state, key);
    expect(text).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(openCursor(text, key, expected)).toEqual(state);
  });

  it('rejects every single-bit alteration', () => {
    const text = sealCursor(state, key);
    const bytes = Buffer.from(text);
    for (let position = 0; position < bytes.length; position += 1) {
      for (let bit = 0; bit < 8; bit += 1) {
        const altered = Buffer.from(bytes);
        altered[position] = (altered[position] as number) ^ (1 << bit);
        const candidate = altered.toString('latin1');
        if (candidate === text) continue;
        expect(() => openCursor(candidate, key, expected)).toThrow(BadRequestError);
      }
    }
  });

  it('rejects garbage, truncation and another key', () => {
    const text = sealCursor(state, key);
    expect(rejection('garbage')).toMatch(/not a valid cursor/);
    expect(rejection(text.slice(0, -5))).toMatch(/altered/);
    expect(rejection(text.slice(0, text.indexOf('.')))).toMatch(/not a valid cursor/);
    expect(rejection(sealCursor(state, randomBytes(32)))).toMatch(/altered/);
    expect(rejection('')).toMatch(/not a valid cursor/);
    expect(rejection('a'.repeat(5000))).toMatch(/not a valid cursor/);
  });

  it('rejects an expired cursor', () => {
    const text = sealCursor({ ...state, expiresAt: now - 1 }, key);
    expect(rejection(text)).toMatch(/expired/);
  });

  it("rejects another tenant's, another dialect's and other filters' cursors", () => {
    const text = sealCursor(state, key);
    expect(rejection(text, { ...expected, tenant: 'other' })).toMatch(/not issued to this account/);
    expect(rejection(text, { ...expected, dialect: 'apiKey' })).toMatch(/another API/);
    expect(rejection(text, { ...expected, filters: filterFingerprint({ action: 'user_logout' }) })).toMatch(
      /other filters/,
    );
  });

  it('gives the same fingerprint whatever the key order, and ignores absent filters', () => {
    expect(filterFingerprint({ a: '1', b: 2 })).toBe(filterFingerprint({ b: 2, a: '1', c: undefined }));
    expect(filterFingerprint({ a: '1' })).not.toBe(filterFingerprint({ a: '2' }));
  });
});
