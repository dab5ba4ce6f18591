import type { ShardPlan, ShardPlans } from '../domain/hot-shards.js';

/** Where a tenant's write-shard plans are read (lambdas/domain/hot-shards.ts). */
export interface ShardPlanSource {
  /** The tenant's plans in `from` order; empty for a tenant that was never sharded (k = 1). */
  plans(tenant: string): Promise<ShardPlans>;
}

/** Plans are also recorded: appended only, each taking effect after every cache has seen it. */
export interface ShardPlanStore extends ShardPlanSource {
  /**
   * Records `plan`; false when a plan with the same start was already recorded, or when it would
   * not change the layout in effect at its start.
   */
  record(tenant: string, plan: ShardPlan): Promise<boolean>;
}
