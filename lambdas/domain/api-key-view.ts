import { type AuditRecord, actorOf } from './record.js';

/** One entry as the api-key dialect shows it (seed 003). */
export interface ApiKeyEntry {
  id: string;
  uri?: string;
  method?: string;
  sourceIp?: string;
  meta: {
    status?: string;
    service?: string;
    queryParameters?: Record<string, string>;
    error?: string;
  };
  userApiKey?: { id: string; name: string };
  createdAt: string;
}

/**
 * The api-key view of a record. The dialect lists only entries that record an API call (the
 * `apiCalls` selector), which fill every field; the request fields stay optional here so that a
 * record without `request` still maps without nulls. `userApiKey.id` is the same actor the
 * `filter[userApiKey._id]` index is keyed by.
 */
export const toApiKeyEntry = (record: AuditRecord): ApiKeyEntry => {
  const { request } = record;
  const actor = actorOf(record);
  // Built in the seed's key order; absent fields are left out rather than null.
  return {
    id: String(record.id),
    ...(request ? { uri: request.uri, method: request.method } : {}),
    ...(record.user_ip ? { sourceIp: record.user_ip } : {}),
    meta: {
      ...(request ? { status: String(request.status) } : {}),
      service: record.category ?? record.action_type,
      ...(request ? { queryParameters: { ...request.query_parameters } } : {}),
      ...(request?.error ? { error: request.error } : {}),
    },
    ...(actor !== undefined
      ? {
          userApiKey: {
            id: actor,
            name: record.api_key && record.api_key.id === actor ? record.api_key.name : actor,
          },
        }
      : {}),
    createdAt: new Date(record.timestamp).toISOString(),
  };
};
