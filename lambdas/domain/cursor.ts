import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { BadRequestError } from './errors.js';

/**
 * A page position, sealed into an opaque URL-safe string: base64url(JSON) "." base64url(HMAC-SHA256).
 * It is bound to the tenant, the dialect and the filters it was issued for, and it expires.
 */
export interface CursorState {
  readonly tenant: string;
  readonly dialect: string;
  /** See {@link filterFingerprint}. */
  readonly filters: string;
  /** `next` pages towards older entries; `prev` back towards newer ones. */
  readonly direction: 'next' | 'prev';
  /** The id the page starts after (exclusive), in the cursor's direction. */
  readonly boundaryId: number;
  /** The page number the cursor leads to (1-based). */
  readonly page: number;
  readonly pageCount: number;
  readonly pageSize: number;
  /** Epoch ms after which the cursor is refused. */
  readonly expiresAt: number;
  /**
   * A hot tenant's pages merge its write shards (lambdas/domain/hot-shards.ts): where each shard
   * resumes (an id; undefined: the start of the range). Absent for one shard, and in every cursor
   * issued before sharding: each shard then resumes at `boundaryId`.
   */
  readonly shardPositions?: readonly (number | undefined)[];
}

const VERSION = 1;
/** Cursors with shard positions (an 11th field); version 1 cursors stay valid and unchanged. */
const SHARDED_VERSION = 2;
/** Most shard positions a cursor carries (lambdas/domain/hot-shards.ts, MAX_SHARDS). */
const MAX_SHARD_POSITIONS = 64;
const MAX_CURSOR_LENGTH = 2048;

/** A short, stable fingerprint of the filters a page was asked with. */
export const filterFingerprint = (filters: Readonly<Record<string, string | number | undefined>>): string => {
  const entries = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(entries)).digest('base64url').slice(0, 16);
};

const sign = (payload: string, key: Uint8Array): Buffer => createHmac('sha256', key).update(payload).digest();

/** Seals `state` under `key`. */
export const sealCursor = (state: CursorState, key: Uint8Array): string => {
  const positions = state.shardPositions;
  const sharded = positions !== undefined && positions.length > 0;
  const payload = Buffer.from(
    JSON.stringify([
      sharded ? SHARDED_VERSION : VERSION,
      state.tenant,
      state.dialect,
      state.filters,
      state.direction === 'next' ? 0 : 1,
      state.boundaryId,
      state.page,
      state.pageCount,
      state.pageSize,
      state.expiresAt,
      // Positions as offsets from the boundary (short numbers), null for "the range's start".
      ...(sharded ? [positions.map((id) => (id === undefined ? null : id - state.boundaryId))] : []),
    ]),
  ).toString('base64url');
  return `${payload}.${sign(payload, key).toString('base64url')}`;
};

/** What an opened cursor must match. */
export interface CursorExpectation {
  readonly tenant: string;
  readonly dialect: string;
  readonly filters: string;
  readonly now: number;
  /** The request parameter that carried the cursor, named in error messages. */
  readonly field: string;
}

const isSafeInteger = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min;

/**
 * Opens a cursor, verifying its signature before reading anything in it, then that it belongs to
 * this tenant, dialect and filters and has not expired. Every failure is a 400 with a clear message.
 */
export const openCursor = (text: string, key: Uint8Array, expected: CursorExpectation): CursorState => {
  const { field } = expected;
  const malformed = () => new BadRequestError(`${field} is not a valid cursor`, { field });
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH) throw malformed();
  const [payload, signature, ...rest] = text.split('.');
  if (!payload || !signature || rest.length > 0 || !/^[A-Za-z0-9_-]+$/.test(payload + signature))
    throw malformed();
  // Compared as text, not decoded bytes: base64's spare low bits would let altered text verify.
  const expectedSignature = Buffer.from(sign(payload, key).toString('base64url'));
  const givenSignature = Buffer.from(signature);
  if (
    givenSignature.length !== expectedSignature.length ||
    !timingSafeEqual(givenSignature, expectedSignature)
  ) {
    throw new BadRequestError(`${field} has been altered or was not issued by this service`, { field });
  }
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw malformed();
  }
  if (
    !Array.isArray(fields) ||
    !(
      (fields.length === 10 && fields[0] === VERSION) ||
      (fields.length === 11 && fields[0] === SHARDED_VERSION)
    )
  )
    throw malformed();
  const [, tenant, dialect, filters, direction, boundaryId, page, pageCount, pageSize, expiresAt, offsets] =
    fields;
  if (
    typeof tenant !== 'string' ||
    typeof dialect !== 'string' ||
    typeof filters !== 'string' ||
    (direction !== 0 && direction !== 1) ||
    !isSafeInteger(boundaryId, 0) ||
    !isSafeInteger(page, 1) ||
    !isSafeInteger(pageCount, 0) ||
    !isSafeInteger(pageSize, 1) ||
    !isSafeInteger(expiresAt, 0)
  ) {
    throw malformed();
  }
  const shardPositions = offsets === undefined ? undefined : positionsFrom(offsets, boundaryId);
  if (shardPositions === null) throw malformed();
  if (tenant !== expected.tenant)
    throw new BadRequestError(`${field} was not issued to this account`, { field });
  if (dialect !== expected.dialect)
    throw new BadRequestError(`${field} was issued by another API`, { field });
  if (filters !== expected.filters) {
    throw new BadRequestError(`${field} was issued for other filters; repeat the filters of the first page`, {
      field,
    });
  }
  if (expiresAt <= expected.now) {
    throw new BadRequestError(`${field} has expired; start again from the first page`, { field });
  }
  return {
    tenant,
    dialect,
    filters,
    direction: direction === 0 ? 'next' : 'prev',
    boundaryId,
    page,
    pageCount,
    pageSize,
    expiresAt,
    ...(shardPositions ? { shardPositions } : {}),
  };
};

/** Shard positions from their offsets, or null when they are not a valid list of positions. */
const positionsFrom = (offsets: unknown, boundaryId: number): (number | undefined)[] | null => {
  if (!Array.isArray(offsets) || offsets.length === 0 || offsets.length > MAX_SHARD_POSITIONS) return null;
  const positions: (number | undefined)[] = [];
  for (const offset of offsets) {
    if (offset === null) {
      positions.push(undefined);
      continue;
    }
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) return null;
    const id = boundaryId + offset;
    if (!isSafeInteger(id, 0)) return null;
    positions.push(id);
  }
  return positions;
};
