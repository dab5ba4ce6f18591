import { describe, expect, it } from '@jest/globals';
import {
  TLOG_LEAF_BUCKET_IDS,
  tlogLeafAttribute,
  tlogLeafRunAttribute,
} from '../../lambdas/adapters/dynamodb-keys.js';
import { encodeLeafRun, leafIndexInBucket } from '../../lambdas/adapters/dynamodb-tlog.js';
import { InvariantError } from '../../lambdas/domain/errors.js';

describe('leaf-index runs in a bucket item', () => {
  const bucket = 26_541 * TLOG_LEAF_BUCKET_IDS;

  it('finds each entry of each run, and an entry the first layout wrote one attribute for, in one item', () => {
    // Prepare: two chunks' runs in one bucket, out of id order as the stream delivers them, and
    // one entry as the first layout stored it.
    const first = [
      { id: bucket + 900, index: 5_000_000 },
      { id: bucket + 17, index: 5_000_001 },
      { id: bucket + 65_535, index: 5_000_003 },
    ];
    const second = [{ id: bucket + 18, index: 5_000_140 }];
    const item: Record<string, unknown> = {
      pk: 'tlogleaf#acme#26541',
      sk: 'leaves',
      [tlogLeafRunAttribute(5_000_000)]: encodeLeafRun(first, 5_000_000),
      [tlogLeafRunAttribute(5_000_140)]: encodeLeafRun(second, 5_000_140),
      [tlogLeafAttribute(bucket + 4)]: 4_999_990,
    };

    // Act
    const found = [...first, ...second, { id: bucket + 4, index: 4_999_990 }].map(({ id }) =>
      leafIndexInBucket(item, id),
    );

    // Assess
    expect(found).toEqual([5_000_000, 5_000_001, 5_000_003, 5_000_140, 4_999_990]);
    expect(leafIndexInBucket(item, bucket + 19)).toBeUndefined();
    expect(encodeLeafRun(first, 5_000_000)).toHaveLength(12);
  });

  it('refuses a leaf index before its run or 2¹⁶ past its first', () => {
    expect(() => encodeLeafRun([{ id: bucket, index: 9 }], 10)).toThrow(InvariantError);
    expect(() => encodeLeafRun([{ id: bucket, index: 10 + 65_536 }], 10)).toThrow(InvariantError);
  });
});
