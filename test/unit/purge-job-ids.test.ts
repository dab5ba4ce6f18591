import { describe, expect, it } from '@jest/globals';
import {
  archiveProofKey,
  isPurgeJobId,
  manifestKey,
  parseArchiveKey,
  partKey,
  purgeJobId,
  purgeRunOf,
} from '../../lambdas/domain/purge.js';

describe('purge job ids of repeated purges', () => {
  it('names the first job of an id pj-<id> and later ones pj-<id>-<run>', () => {
    expect(purgeJobId(123)).toBe('pj-123');
    expect(purgeJobId(123, 2)).toBe('pj-123-2');
    expect(purgeRunOf('pj-123')).toBe(1);
    expect(purgeRunOf('pj-123-17')).toBe(17);
  });

  it('accepts run numbers from 2, and nothing else after the id', () => {
    expect(isPurgeJobId('pj-123-2')).toBe(true);
    expect(isPurgeJobId('pj-123-999999')).toBe(true);
    for (const text of [
      'pj-123-1',
      'pj-123-0',
      'pj-123-02',
      'pj-123-',
      'pj-123-1000000',
      'pj-123-2-3',
      'pj-123-x',
    ])
      expect({ text, valid: isPurgeJobId(text) }).toEqual({ text, valid: false });
  });

  it('parses the archive keys of a repeated purge, and does not confuse them with another id', () => {
    const jobId = purgeJobId(123, 3);
    expect(parseArchiveKey(manifestKey(jobId))).toEqual({ kind: 'manifest', jobId });
    expect(parseArchiveKey(partKey(jobId, 99))).toEqual({ kind: 'part', jobId, firstId: 99 });
    expect(parseArchiveKey(archiveProofKey(jobId))).toEqual({ kind: 'proof', jobId });
    expect(parseArchiveKey('pj-123-3/../pj-1.manifest.json')).toBeUndefined();
    expect(parseArchiveKey('pj-123-3/../pj-1.tlog-proof.jsonl')).toBeUndefined();
  });
});
