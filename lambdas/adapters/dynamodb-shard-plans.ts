import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { PLAN_CACHE_MS, type ShardPlan, type ShardPlans, shardsAt } from '../domain/hot-shards.js';
import { ID_EPOCH_MS } from '../domain/ids.js';
import type { ShardPlanStore } from '../ports/shard-plans.js';
import { shardPlanKey, shardPlanPartition } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

export interface DynamoDbShardPlanStoreOptions {
  readonly controlTable: string;
  /**
   * Tenants given k shards by configuration (`HOT_TENANT_SHARDS`) for all time: a floor under
   * whatever is recorded. Readers then query those shards for every range; see docs/architecture.md
   * on why such a floor may be raised but never lowered.
   */
  readonly forced?: ReadonlyMap<string, number>;
  readonly clock?: () => number;
}

/**
 * A tenant's plans in the control table (one small item each, in partition `shardplan#<tenant>`),
 * kept per container for `PLAN_CACHE_MS`: plans take effect `PLAN_LEAD_MS` after they are
 * recorded, so a cached list always holds every plan in effect for the ids written or read.
 * A tenant that was never sharded costs one eventually consistent query a minute per container.
 */
export class DynamoDbShardPlanStore implements ShardPlanStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #forced: ReadonlyMap<string, number>;
  readonly #clock: () => number;
  readonly #cache = new Map<string, { readonly plans: Promise<ShardPlans>; readonly at: number }>();

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbShardPlanStoreOptions) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#forced = options.forced ?? new Map();
    this.#clock = options.clock ?? Date.now;
  }

  plans(tenant: string): Promise<ShardPlans> {
    const now = this.#clock();
    const cached = this.#cache.get(tenant);
    if (cached && now - cached.at < PLAN_CACHE_MS) return cached.plans;
    const plans = this.#load(tenant);
    this.#cache.set(tenant, { plans, at: now });
    // A failed read is not kept: the next call asks again.
    plans.catch(() => {
      if (this.#cache.get(tenant)?.plans === plans) this.#cache.delete(tenant);
    });
    return plans;
  }

  async record(tenant: string, plan: ShardPlan): Promise<boolean> {
    // A plan that leaves the layout as it is (below a configured floor) is not worth an item.
    const floor = this.#forced.get(tenant) ?? 1;
    if (Math.max(floor, plan.shards) === shardsAt(await this.plans(tenant), plan.from)) return false;
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...shardPlanKey(tenant, plan.from), from: plan.from, shards: plan.shards },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    this.#cache.delete(tenant);
    return true;
  }

  async #load(tenant: string): Promise<ShardPlans> {
    const recorded: ShardPlan[] = [];
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
        ExpressionAttributeValues: { ':pk': shardPlanPartition(tenant) },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const { from, shards } = item;
        if (typeof from === 'number' && typeof shards === 'number') recorded.push({ from, shards });
      }
    }
    recorded.sort((a, b) => a.from - b.from);
    const floor = this.#forced.get(tenant) ?? 1;
    if (floor <= 1) return recorded;
    return [
      { from: ID_EPOCH_MS, shards: floor },
      ...recorded.map((plan) => ({ from: plan.from, shards: Math.max(floor, plan.shards) })),
    ];
  }
}
