import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InvariantError } from '../domain/errors.js';
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from '../ports/idempotency-store.js';
import { idempotencyItemKey } from './dynamodb-keys.js';
import { CONTROL_KEYS } from './table-definitions.js';

/** How long an idempotency key is remembered after its first use. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export interface DynamoDbIdempotencyStoreOptions {
  readonly controlTable: string;
  readonly clock?: () => number;
  readonly ttlSeconds?: number;
}

/**
 * Idempotency keys in the control table: one item per tenant and key (the key is stored as its
 * SHA-256, so any printable key fits the item key), holding the first request's body hash, a claim
 * id and, once it finished, its response. `expiresAt` is DynamoDB's TTL attribute, but expiry is
 * enforced here too: TTL deletion lags by up to days, and DynamoDB Local never runs it.
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: () => number;
  readonly #ttlSeconds: number;

  constructor(doc: DynamoDBDocumentClient, options: DynamoDbIdempotencyStoreOptions) {
    this.#doc = doc;
    this.#table = options.controlTable;
    this.#clock = options.clock ?? Date.now;
    this.#ttlSeconds = options.ttlSeconds ?? IDEMPOTENCY_TTL_SECONDS;
  }

  #key(tenant: string, key: string) {
    const digest = createHash('sha256').update(key, 'utf8').digest('hex');
    return idempotencyItemKey(tenant, digest);
  }

  async claim(
    tenant: string,
    key: string,
    bodyHash: string,
    options: { readonly lifetimeSeconds?: number } = {},
  ): Promise<IdempotencyClaim> {
    const lifetime = options.lifetimeSeconds ?? this.#ttlSeconds;
    // Two rounds suffice: a failed conditional put means a live claim exists, unless it expired
    // between our put and our read, in which case the second put succeeds or finds the new one.
    for (let round = 0; round < 3; round += 1) {
      const nowSeconds = Math.floor(this.#clock() / 1000);
      const claimId = randomUUID();
      try {
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...this.#key(tenant, key),
              claimId,
              bodyHash,
              [CONTROL_KEYS.ttl]: nowSeconds + lifetime,
            },
            // A key is free when never used or when its previous use expired.
            ConditionExpression: 'attribute_not_exists(#pk) OR #expires <= :now',
            ExpressionAttributeNames: { '#pk': CONTROL_KEYS.partition, '#expires': CONTROL_KEYS.ttl },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return { claimId, bodyHash, created: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const existing = await this.#doc.send(
        new GetCommand({ TableName: this.#table, Key: this.#key(tenant, key), ConsistentRead: true }),
      );
      const item = existing.Item;
      if (!item || Number(item[CONTROL_KEYS.ttl]) <= Math.floor(this.#clock() / 1000)) continue;
      return {
        claimId: String(item.claimId),
        bodyHash: String(item.bodyHash),
        created: false,
        ...(Array.isArray(item.ids) ? { ids: item.ids as number[] } : {}),
        ...(item.response ? { response: item.response as StoredResponse } : {}),
      };
    }
    throw new InvariantError('could not claim the idempotency key');
  }

  async assignIds(
    tenant: string,
    key: string,
    claimId: string,
    ids: readonly number[],
    options: { readonly replace?: boolean } = {},
  ): Promise<readonly number[]> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(tenant, key),
          UpdateExpression: 'SET #ids = :ids',
          ConditionExpression: options.replace
            ? '#claim = :claim'
            : '#claim = :claim AND attribute_not_exists(#ids)',
          ExpressionAttributeNames: { '#ids': 'ids', '#claim': 'claimId' },
          ExpressionAttributeValues: { ':ids': [...ids], ':claim': claimId },
        }),
      );
      return ids;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(tenant, key), ConsistentRead: true }),
    );
    const stored = existing.Item?.ids;
    if (existing.Item?.claimId === claimId && Array.isArray(stored)) return stored as number[];
    // The claim expired and was taken by a new request meanwhile: this request's ids stand alone.
    return ids;
  }

  async complete(tenant: string, key: string, claimId: string, response: StoredResponse): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(tenant, key),
          UpdateExpression: 'SET #response = :response',
          // Only the claim this request worked under; a newer claim (after expiry) is left alone.
          ConditionExpression: '#claim = :claim',
          ExpressionAttributeNames: { '#response': 'response', '#claim': 'claimId' },
          ExpressionAttributeValues: { ':response': response, ':claim': claimId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
