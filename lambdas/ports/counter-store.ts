import type { CounterScope } from '../domain/rollups.js';

/** Reads the rollup counters written alongside entries. */
export interface CounterStore {
  /** Exact all-time number of a tenant's entries in `scope`. */
  total(tenant: string, scope: CounterScope): Promise<number>;
}
