import { API_REQUEST_ACTION, type AuditRecord } from './record.js';

/** One entry as the kore dialect shows it (seed 002). */
export interface KoreEntry {
  timestampValue: number;
  'Date/Time': string;
  Description: string;
  Name: string;
  Category: string;
  AuditLogId: string;
}

/** "user_login" → "User login": Kore names actions as short phrases, not identifiers. */
const humanize = (actionType: string): string => {
  const words = actionType.replace(/[_-]+/g, ' ').trim();
  return words.length === 0 ? actionType : words.charAt(0).toUpperCase() + words.slice(1);
};

const describe = (record: AuditRecord): string => {
  if (record.request) {
    const { method, uri, status, error } = record.request;
    const caller = record.api_key ? ` by API key "${record.api_key.name}"` : '';
    const from = record.user_ip ? ` from ${record.user_ip}` : '';
    return `${method} ${uri} returned ${status}${error ? `: ${error}` : ''}${caller}${from}`;
  }
  const message = record.message ?? humanize(record.action_type);
  // Kore puts who and where into the description ("… from 127.0.0.1 via web"); add what the message lacks.
  const who = record.user && !message.includes(record.user) ? ` by ${record.user}` : '';
  const from = record.user_ip && !message.includes(record.user_ip) ? ` from ${record.user_ip}` : '';
  return `${message}${who}${from}`;
};

/** The kore view of a record: `AuditLogId` is the id as a string, `Date/Time` the ISO timestamp. */
export const toKoreEntry = (record: AuditRecord): KoreEntry => {
  const isApiRequest = record.action_type === API_REQUEST_ACTION;
  return {
    timestampValue: record.timestamp,
    'Date/Time': new Date(record.timestamp).toISOString(),
    Description: describe(record),
    Name: isApiRequest ? 'API request' : humanize(record.action_type),
    Category: isApiRequest ? 'API' : (record.category ?? 'General'),
    AuditLogId: String(record.id),
  };
};
