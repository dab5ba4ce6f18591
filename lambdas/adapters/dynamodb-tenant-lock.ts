import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { ControlKey } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

/** A new job item and the tenant's lock item that names it (one job of its kind per tenant). */
export interface LockedJobWrite {
  readonly table: string;
  readonly job: { readonly key: ControlKey; readonly attributes: Record<string, unknown> };
  readonly lock: {
    readonly key: ControlKey;
    readonly attributes: Record<string, unknown>;
    /** When a lock item that exists may be taken anyway (e.g. it names this very job). */
    readonly takeOverWhen: string;
    readonly values: Record<string, unknown>;
  };
}

/**
 * Writes a new job item together with the tenant's lock item naming it, in one transaction: the
 * job must not exist yet, the lock must be free or `takeOverWhen` hold. False when either
 * condition failed (nothing was written); the caller reads who holds the lock.
 */
export const putLockedJob = async (doc: DynamoDBDocumentClient, write: LockedJobWrite): Promise<boolean> => {
  const { table, job, lock } = write;
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: table,
              Item: { ...job.key, ...job.attributes },
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
            },
          },
          {
            Put: {
              TableName: table,
              Item: { ...lock.key, ...lock.attributes },
              ConditionExpression: `attribute_not_exists(#pk) OR ${lock.takeOverWhen}`,
              ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition },
              ExpressionAttributeValues: lock.values,
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException) return false;
    throw error;
  }
};
