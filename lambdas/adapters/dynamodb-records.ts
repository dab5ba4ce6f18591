import { parseShardPartition } from '../domain/hot-shards.js';
import type { AuditRecord } from '../domain/record.js';
import { actorOf } from '../domain/record.js';
import { actionPartition, actorPartition, apiCallPartition, eventsPartition } from './dynamodb-keys.js';
import { EVENTS_KEYS } from './table-definitions.js';

/**
 * Maps records to events-table items and back. `additional_information` is free-form JSON, so it
 * is stored as its JSON text: DynamoDB maps would not round-trip every JSON value exactly (empty
 * strings in sets, number precision), and the stored hash must stay verifiable. The request's
 * query parameters are stored as JSON text too: their names are the caller's, and DynamoDB refuses
 * an empty attribute name while the SDK's marshaller refuses a map with a `constructor` key.
 * (Items written before hold them as a map; both read back.)
 */
export const recordToItem = (record: AuditRecord, shard = 0): Record<string, unknown> => {
  const { additional_information, request, ...rest } = record;
  const actor = actorOf(record);
  return {
    ...rest,
    // A hot tenant's write shard (lambdas/domain/hot-shards.ts): its keys; shard 0 is the tenant's own.
    ...(shard === 0 ? {} : { [EVENTS_KEYS.partition]: eventsPartition(record.tenant, shard) }),
    ...(request !== undefined ? { request: requestToItem(request) } : {}),
    [EVENTS_KEYS.actionKey]: actionPartition(record.tenant, record.action_type, shard),
    ...(actor !== undefined ? { [EVENTS_KEYS.actorKey]: actorPartition(record.tenant, actor, shard) } : {}),
    // Only entries that record an API call are in the api-key dialect's listing index (sparse).
    ...(request !== undefined ? { [EVENTS_KEYS.apiCallKey]: apiCallPartition(record.tenant, shard) } : {}),
    ...(additional_information !== undefined
      ? { additional_information_json: JSON.stringify(additional_information) }
      : {}),
  };
};

export const itemToRecord = (item: Record<string, unknown>): AuditRecord => {
  const {
    [EVENTS_KEYS.actionKey]: _action,
    [EVENTS_KEYS.actorKey]: _actor,
    [EVENTS_KEYS.apiCallKey]: _apiCall,
    additional_information_json,
    request,
    ...rest
  } = item;
  const partition = rest[EVENTS_KEYS.partition];
  return {
    ...(rest as unknown as AuditRecord),
    // The partition key of a write shard names the tenant with its shard: the record has the tenant.
    ...(typeof partition === 'string' && partition.includes('~')
      ? { tenant: parseShardPartition(partition).tenant }
      : {}),
    ...(request !== undefined ? { request: itemToRequest(request as Record<string, unknown>) } : {}),
    ...(typeof additional_information_json === 'string'
      ? { additional_information: JSON.parse(additional_information_json) as unknown }
      : {}),
  };
};

type RecordedRequest = NonNullable<AuditRecord['request']>;

const requestToItem = (request: RecordedRequest): Record<string, unknown> => {
  const { query_parameters, ...rest } = request;
  return { ...rest, query_parameters_json: JSON.stringify(query_parameters) };
};

const itemToRequest = (item: Record<string, unknown>): RecordedRequest => {
  const { query_parameters_json, ...rest } = item;
  return {
    ...(rest as unknown as RecordedRequest),
    ...(typeof query_parameters_json === 'string'
      ? { query_parameters: JSON.parse(query_parameters_json) as Record<string, string> }
      : {}),
  };
};

/** DynamoDB's limit on one item: names and values of all its attributes, in bytes. */
export const MAX_ITEM_BYTES = 400 * 1024;
/** DynamoDB's limit on a partition key value (of the table or an index), in bytes. */
export const MAX_PARTITION_KEY_BYTES = 2048;

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * The size DynamoDB counts for an item of the document client's values, rounded up where
 * DynamoDB's rules are approximate: each attribute's name (UTF-8) plus its value; strings by
 * their UTF-8 length, numbers at most 21 bytes, null and booleans 1 byte, and each list or map
 * 3 bytes plus 1 byte per element on top of its elements (names included for maps).
 */
export const itemBytes = (item: Record<string, unknown>): number => {
  let total = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    total += utf8Bytes(name) + valueBytes(value);
  }
  return total;
};

const valueBytes = (value: unknown): number => {
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number') return 21;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return value.reduce<number>((sum, element) => sum + 1 + valueBytes(element), 3);
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).reduce<number>(
      (sum, [name, element]) => sum + 1 + utf8Bytes(name) + valueBytes(element),
      3,
    );
  }
  return 0;
};
