import { API_REQUEST_ACTION, type AuditRecord } from './record.js';
import { formatCanaryUtc, formatCanaryZoned } from './time.js';

/** One entry as the canary dialect shows it (seed 000): keys sorted, absent fields null. */
export interface CanaryEntry {
  action_type: string;
  additional_information: unknown;
  flock_id: string | null;
  id: number;
  message: string | null;
  timestamp: string;
  timestamp_std?: string;
  user: string | null;
  user_browser_agent: string | null;
  user_browser_language: string | null;
  user_ip: string | null;
}

const describeRequest = (record: AuditRecord): string | null => {
  if (!record.request) return record.message ?? null;
  const { method, uri, status, error } = record.request;
  return `${method} ${uri} returned ${status}${error ? `: ${error}` : ''}`;
};

/**
 * The canary view of a record. `timeZone` (an IANA name) adds `timestamp_std` in that zone, as
 * the canary API does for its `tz` parameter.
 */
export const toCanaryEntry = (record: AuditRecord, timeZone?: string): CanaryEntry => {
  const isApiRequest = record.action_type === API_REQUEST_ACTION;
  const entry: CanaryEntry = {
    action_type: record.action_type,
    additional_information: record.additional_information ?? null,
    flock_id: record.flock_id ?? null,
    id: record.id,
    message: isApiRequest ? describeRequest(record) : (record.message ?? null),
    timestamp: formatCanaryUtc(record.timestamp),
    user: record.user ?? record.api_key?.name ?? null,
    user_browser_agent: record.user_browser_agent ?? null,
    user_browser_language: record.user_browser_language ?? null,
    user_ip: record.user_ip ?? null,
  };
  if (timeZone !== undefined) {
    // Inserted after `timestamp` so the keys stay in the seed's alphabetical order.
    const { user, user_browser_agent, user_browser_language, user_ip, ...head } = entry;
    return {
      ...head,
      timestamp_std: formatCanaryZoned(record.timestamp, timeZone),
      user,
      user_browser_agent,
      user_browser_language,
      user_ip,
    };
  }
  return entry;
};
