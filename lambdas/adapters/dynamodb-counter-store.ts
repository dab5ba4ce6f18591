import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { counterPartsFor, maxShards } from '../domain/hot-shards.js';
import type { CounterScope } from '../domain/rollups.js';
import type { BucketCount, CounterStore } from '../ports/counter-store.js';
import type { ShardPlanSource } from '../ports/shard-plans.js';
import { counterBucketIndex, counterBucketPrefix, counterPartition } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

/**
 * Reads rollup counters from the control table, adding up their shards (and a hot tenant's
 * counter partitions: one per 4 write shards of its largest plan, `lambdas/domain/hot-shards.ts`).
 */
export class DynamoDbCounterStore implements CounterStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #shardPlans: ShardPlanSource | undefined;

  constructor(
    doc: DynamoDBDocumentClient,
    options: { readonly controlTable: string; readonly shardPlans?: ShardPlanSource },
  ) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#shardPlans = options.shardPlans;
  }

  /** The counter partitions of a tenant: one per 4 write shards of its largest plan. */
  async #parts(tenant: string): Promise<number[]> {
    const parts = this.#shardPlans ? counterPartsFor(maxShards(await this.#shardPlans.plans(tenant))) : 1;
    return Array.from({ length: parts }, (_, part) => part);
  }

  async total(tenant: string, scope: CounterScope): Promise<number> {
    const sums = await Promise.all(
      (await this.#parts(tenant)).map((part) => this.#totalOf(tenant, scope, part)),
    );
    return sums.reduce((sum, part) => sum + part, 0);
  }

  async #totalOf(tenant: string, scope: CounterScope, part: number): Promise<number> {
    let sum = 0;
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': counterPartition(tenant, scope, part),
          ':prefix': counterBucketPrefix({ unit: 'total' }),
        },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) sum += Number(item.n ?? 0);
    return sum;
  }

  async bucketCounts(
    tenant: string,
    scope: CounterScope,
    unit: 'day' | 'hour',
    first: number,
    last: number,
  ): Promise<BucketCount[]> {
    if (first > last) return [];
    const counts = new Map<number, number>();
    await Promise.all(
      (await this.#parts(tenant)).map((part) =>
        this.#addBuckets(counts, tenant, scope, unit, first, last, part),
      ),
    );
    return [...counts]
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a - b)
      .map(([bucket, count]) => ({ bucket, count }));
  }

  async #addBuckets(
    counts: Map<number, number>,
    tenant: string,
    scope: CounterScope,
    unit: 'day' | 'hour',
    first: number,
    last: number,
    part: number,
  ): Promise<void> {
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        // Shard suffixes are digits, so "~" sorts after every shard of the last bucket.
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': counterPartition(tenant, scope, part),
          ':first': counterBucketPrefix({ unit, index: Math.max(0, first) }),
          ':last': `${counterBucketPrefix({ unit, index: last })}~`,
        },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const bucket = counterBucketIndex(String(item[CONTROL_KEYS.sort]));
        counts.set(bucket, (counts.get(bucket) ?? 0) + Number(item.n ?? 0));
      }
    }
  }
}
