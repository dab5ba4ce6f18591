import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BadRequestError } from '../../lambdas/domain/errors.js';
import { ID_EPOCH_MS, lastIdAt, timestampOfId } from '../../lambdas/domain/ids.js';
import {
  isPurgeJobId,
  manifestKey,
  parseArchiveKey,
  parsePurgeId,
  partKey,
  retentionThroughId,
  withPart,
} from '../../lambdas/domain/purge.js';
import { DAY_MS } from '../../lambdas/domain/time.js';

describe('parsePurgeId', () => {
  it.each(['0', '1', '867062605292959', '9007199254740991'])('accepts %s', (text) => {
    expect(parsePurgeId(text)).toBe(Number(text));
  });

  it.each([
    undefined,
    '',
    'abc',
    '-1',
    '+1',
    '007',
    '00',
    '1.5',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '9007199254740992',
    '99999999999999999',
  ])('refuses %p with a 400 naming id', (text) => {
    expect(() => parsePurgeId(text)).toThrow(BadRequestError);
    try {
      parsePurgeId(text);
    } catch (error) {
      expect((error as BadRequestError).field).toBe('id');
    }
  });

  it('round-trips every safe integer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (id) => {
        expect(parsePurgeId(String(id))).toBe(id);
      }),
    );
  });
});

describe('archive keys', () => {
  it('parses the keys it makes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.nat(), (through, first) => {
        const jobId = `pj-${through}`;
        expect(parseArchiveKey(partKey(jobId, first))).toEqual({ kind: 'part', jobId, firstId: first });
        expect(parseArchiveKey(manifestKey(jobId))).toEqual({ kind: 'manifest', jobId });
      }),
    );
  });

  it.each([
    '..',
    '../pj-1.manifest.json',
    'pj-1/../../x.manifest.json',
    'pj-1.manifest.json/..',
    'tenants/other/purges/pj-1/manifest.json',
    'pj-1.123.jsonl.gz',
    'pj-1.00000000000000001.jsonl.gz',
    'pj-99999999999999999.manifest.json',
    'pj-1.manifest.json\n',
    '',
  ])('refuses %p', (key) => {
    expect(parseArchiveKey(key)).toBeUndefined();
  });

  it('keeps job ids to the pj-<id> shape', () => {
    expect(isPurgeJobId('pj-12')).toBe(true);
    expect(isPurgeJobId('pj-')).toBe(false);
    expect(isPurgeJobId('pj-12/../x')).toBe(false);
  });

  it('replaces a rewritten part (same first id) instead of listing it twice', () => {
    const part = { key: 'k', firstId: 5, lastId: 9, count: 5, size: 1, sha256: 'a', created: 1 };
    const manifest = { version: 1 as const, tenant: 't', jobId: 'pj-9', throughId: 9, created: 1, parts: [] };
    const twice = withPart(withPart(manifest, part), { ...part, sha256: 'b' });
    expect(twice.parts).toEqual([{ ...part, sha256: 'b' }]);
  });
});

describe('retentionThroughId', () => {
  it('is the newest id older than the retention period', () => {
    const now = Date.UTC(2026, 10, 23, 12);
    const through = retentionThroughId(now, 30);
    expect(timestampOfId(through)).toBe(now - 30 * DAY_MS - 1);
    expect(through).toBe(lastIdAt(now - 30 * DAY_MS - 1));
    expect(timestampOfId(through + 1)).toBe(now - 30 * DAY_MS);
  });

  it('never goes below the id epoch', () => {
    expect(timestampOfId(retentionThroughId(ID_EPOCH_MS + DAY_MS, 3650))).toBe(ID_EPOCH_MS);
  });
});
