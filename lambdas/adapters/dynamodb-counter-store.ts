import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type CounterScope,
  counterPartition,
  dayPrefix,
  hourPrefix,
  totalPrefix,
} from '../domain/rollups.js';
import type { BucketCount, CounterStore } from '../ports/counter-store.js';
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
    return this.#sum(counterPartition(tenant, scope), totalPrefix);
  }

  async bucketCounts(
    tenant: string,
    scope: CounterScope,
    unit: 'day' | 'hour',
    first: number,
    last: number,
  ): Promise<BucketCount[]> {
    if (first > last) return [];
    const prefix = unit === 'day' ? dayPrefix : hourPrefix;
    const counts = new Map<number, number>();
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          // Shard suffixes are digits, so "~" sorts after every shard of the last bucket.
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :first AND :last',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
          ExpressionAttributeValues: {
            ':pk': counterPartition(tenant, scope),
            ':first': prefix(Math.max(0, first)),
            ':last': `${prefix(last)}~`,
          },
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of output.Items ?? []) {
        const bucket = Number(String(item[CONTROL_KEYS.sort]).split('#')[1]);
        counts.set(bucket, (counts.get(bucket) ?? 0) + Number(item.n ?? 0));
      }
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return [...counts]
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a - b)
      .map(([bucket, count]) => ({ bucket, count }));
  }

  /** Sums every shard of the counters in partition `pk` whose sort key starts with `prefix`. */
  async #sum(pk: string, prefix: string): Promise<number> {
    let sum = 0;
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const output = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#sk': CONTROL_KEYS.sort },
          ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of output.Items ?? []) sum += Number(item.n ?? 0);
      exclusiveStartKey = output.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return sum;
  }
}
