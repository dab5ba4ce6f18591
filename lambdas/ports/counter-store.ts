import type { CounterScope } from '../domain/rollups.js';

/** The count of one rollup bucket: a UTC day (`dayOf`) or hour (`hourOf`) number and its entries. */
export interface BucketCount {
  readonly bucket: number;
  readonly count: number;
}

/** Reads the rollup counters written alongside entries. */
export interface CounterStore {
  /** Exact all-time number of a tenant's entries in `scope`. */
  total(tenant: string, scope: CounterScope): Promise<number>;
  /**
   * Exact counts of `scope` per UTC day or hour for buckets `first..last` (inclusive), ascending,
   * leaving out buckets without entries. One range read, whatever the number of entries.
   */
  bucketCounts(
    tenant: string,
    scope: CounterScope,
    unit: 'day' | 'hour',
    first: number,
    last: number,
  ): Promise<BucketCount[]>;
}
