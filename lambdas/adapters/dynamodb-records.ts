import type { AuditRecord } from '../domain/record.js';
import { actorOf } from '../domain/record.js';
import { EVENTS_KEYS } from './table-definitions.js';

/**
 * Maps records to events-table items and back. `additional_information` is free-form JSON, so it
 * is stored as its JSON text: DynamoDB maps would not round-trip every JSON value exactly (empty
 * strings in sets, number precision), and the stored hash must stay verifiable. The request's
 * query parameters are stored as JSON text too: their names are the caller's, and DynamoDB refuses
 * an empty attribute name while the SDK's marshaller refuses a map with a `constructor` key.
 * (Items written before hold them as a map; both read back.)
 */
export const recordToItem = (record: AuditRecord): Record<string, unknown> => {
  const { additional_information, request, ...rest } = record;
  const actor = actorOf(record);
  return {
    ...rest,
    ...(request !== undefined ? { request: requestToItem(request) } : {}),
    [EVENTS_KEYS.actionKey]: `${record.tenant}#${record.action_type}`,
    ...(actor !== undefined ? { [EVENTS_KEYS.actorKey]: `${record.tenant}#${actor}` } : {}),
    // Only entries that record an API call are in the api-key dialect's listing index (sparse).
    ...(request !== undefined ? { [EVENTS_KEYS.apiCallKey]: record.tenant } : {}),
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
  return {
    ...(rest as unknown as AuditRecord),
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
