import type { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditRecord } from '../domain/record.js';
import { counterDeltas } from '../domain/rollups.js';
import { type ControlKey, counterItemKey } from './dynamodb-keys.js';

/** One action of a TransactWriteItems call. */
/** DynamoDB's limit on actions in one TransactWriteItems call. */
export const MAX_TRANSACTION_ITEMS = 100;

export type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

/** A rollup counter item and what to add to it. */
export interface CounterItemDelta {
  readonly key: ControlKey;
  readonly delta: number;
}

/**
 * The counter item updates that writing (+1) or deleting (−1) `records` implies, on `shard`
 * (readers add every shard up, so a writer may pick any), one per counter item.
 */
export const counterItemDeltas = (
  records: readonly Pick<AuditRecord, 'tenant' | 'timestamp' | 'action_type' | 'user' | 'api_key'>[],
  delta: 1 | -1,
  shard: number,
): CounterItemDelta[] =>
  [...counterDeltas(records, delta, shard).values()].map(({ counter, delta: n }) => ({
    key: counterItemKey(counter),
    delta: n,
  }));

/** The transaction action that adds `delta` to a counter item (created at 0 when absent). */
export const counterUpdate = (table: string, { key, delta }: CounterItemDelta): TransactItem => ({
  Update: {
    TableName: table,
    Key: key,
    UpdateExpression: 'ADD #n :delta',
    ExpressionAttributeNames: { '#n': 'n' },
    ExpressionAttributeValues: { ':delta': delta },
  },
});
