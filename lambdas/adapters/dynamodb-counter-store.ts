import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { CounterScope } from '../domain/rollups.js';
import type { BucketCount, CounterStore } from '../ports/counter-store.js';
import { counterBucketIndex, counterBucketPrefix, counterPartition } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

/** Reads rollup counters from the control table, adding up their shards. */
export class DynamoDbCounterStore implements CounterStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(doc: DynamoDBDocumentClient, options: { readonly controlTable: string }) {
    this.#doc = doc;
    this.#table = options.controlTable;
  }

  async total(tenant: string, scope: CounterScope): Promise<number> {
    let sum = 0;
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': counterPartition(tenant, scope),
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
    const pages = paginateQuery(
      { client: this.#doc },
      {
        TableName: this.#table,
        // Shard suffixes are digits, so "~" sorts after every shard of the last bucket.
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
        ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
        ExpressionAttributeValues: {
          ':pk': counterPartition(tenant, scope),
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
    return [...counts]
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a - b)
      .map(([bucket, count]) => ({ bucket, count }));
  }
}
