import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * Key layout of the two tables, shared by the adapters, the local stack and the CDK construct so
 * the three cannot drift apart.
 *
 * events: partition `tenant`, sort `id` (number). Three GSIs turn every supported filter into a
 * key condition, all sorted by `id` and projecting every attribute so a filtered page reads
 * exactly the items it returns:
 * - `byAction` on `actionKey` = "tenant#action_type" (every entry);
 * - `byApiCall` on `apiCallKey` = "tenant", only on entries that record an API call (those with
 *   `request`): the api-key dialect's listing (sparse);
 * - `byActor` on `actorKey` = "tenant#user-or-api-key-id" (every entry with an actor): canary's
 *   `user_filter`, tokens narrowed to one actor, and the api-key dialect's `filter[userApiKey._id]`.
 *   For the last, only ids shaped like this service's token or kore app ids are looked up, and
 *   ingest refuses such ids as a `user` or `api_key.id`, so those partitions hold API calls only.
 *   Items written before byApiCall have no `apiCallKey`: `scripts/migrate-api-call-keys.ts` adds it.
 *
 * A hot tenant's write shard s > 0 suffixes the tenant in every key ("tenant~3", "tenant~3#action";
 * lambdas/domain/hot-shards.ts, docs/architecture.md "Hot tenants"); shard 0 is the tenant's own
 * key, so no existing item changes.
 *
 * control: generic `pk`/`sk` (strings) holding tokens, tenant settings, counters, jobs and
 * idempotency keys, with `expiresAt` (epoch seconds) as the TTL attribute.
 */
export const EVENTS_KEYS = {
  partition: 'tenant',
  sort: 'id',
  actionIndex: 'byAction',
  actionKey: 'actionKey',
  actorIndex: 'byActor',
  actorKey: 'actorKey',
  apiCallIndex: 'byApiCall',
  apiCallKey: 'apiCallKey',
} as const;

export const CONTROL_KEYS = { partition: 'pk', sort: 'sk', ttl: 'expiresAt' } as const;

/** The events table's stream: new and old images. */
export const EVENTS_STREAM = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } as const;

/** CreateTable input for the events table (used by the local stack and tests). */
export const eventsTableDefinition = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: EVENTS_KEYS.partition, AttributeType: 'S' },
    { AttributeName: EVENTS_KEYS.sort, AttributeType: 'N' },
    { AttributeName: EVENTS_KEYS.actionKey, AttributeType: 'S' },
    { AttributeName: EVENTS_KEYS.actorKey, AttributeType: 'S' },
    { AttributeName: EVENTS_KEYS.apiCallKey, AttributeType: 'S' },
  ],
  // Everything derived from entries (rollup counters, next the verifiable log) is built from this
  // stream behind the request path; deletions carry the old image.
  StreamSpecification: EVENTS_STREAM,
  KeySchema: [
    { AttributeName: EVENTS_KEYS.partition, KeyType: 'HASH' },
    { AttributeName: EVENTS_KEYS.sort, KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: EVENTS_KEYS.actionIndex,
      KeySchema: [
        { AttributeName: EVENTS_KEYS.actionKey, KeyType: 'HASH' },
        { AttributeName: EVENTS_KEYS.sort, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: EVENTS_KEYS.actorIndex,
      KeySchema: [
        { AttributeName: EVENTS_KEYS.actorKey, KeyType: 'HASH' },
        { AttributeName: EVENTS_KEYS.sort, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: EVENTS_KEYS.apiCallIndex,
      KeySchema: [
        { AttributeName: EVENTS_KEYS.apiCallKey, KeyType: 'HASH' },
        { AttributeName: EVENTS_KEYS.sort, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
});

/** CreateTable input for the control table. */
export const controlTableDefinition = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: CONTROL_KEYS.partition, AttributeType: 'S' },
    { AttributeName: CONTROL_KEYS.sort, AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: CONTROL_KEYS.partition, KeyType: 'HASH' },
    { AttributeName: CONTROL_KEYS.sort, KeyType: 'RANGE' },
  ],
});
