import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** Details of an HTTP request, for entries that record an API call (the api-key dialect's view). */
export interface RequestDetails {
  readonly uri: string;
  readonly method: string;
  readonly status: number;
  readonly query_parameters: Readonly<Record<string, string>>;
  readonly error?: string;
}

/** The API key (token) that made a recorded request: its public id and name, never its secret. */
export interface ApiKeyRef {
  readonly id: string;
  readonly name: string;
}

/** What a producer says happened; the service adds tenant, id, timestamp (usually) and hash. */
export interface EventDraft {
  readonly timestamp?: number;
  readonly action_type: string;
  readonly category?: string;
  readonly message?: string;
  readonly user?: string;
  readonly user_ip?: string;
  readonly user_browser_agent?: string;
  readonly user_browser_language?: string;
  readonly flock_id?: string;
  readonly additional_information?: unknown;
  readonly request?: RequestDetails;
  readonly api_key?: ApiKeyRef;
}

/** One canonical, immutable audit entry. Each dialect is a view of it. */
export interface AuditRecord extends Omit<EventDraft, 'timestamp'> {
  readonly tenant: string;
  readonly id: number;
  readonly timestamp: number;
  /** SHA-256 (hex) of the record's canonical JSON without this field. */
  readonly hash: string;
}

/** The action type of entries that record a call to this service's API. */
export const API_REQUEST_ACTION = 'api_request';

/** The category of every record this service writes about its own use (reserved for it). */
export const SERVICE_CATEGORY = 'Audit trail';

/** Who an entry is about, for the per-user index and rollups: the user, else the API key id. */
export const actorOf = (record: Pick<EventDraft, 'user' | 'api_key'>): string | undefined =>
  record.user ?? record.api_key?.id;

/** SHA-256 of the RFC 8785 canonical JSON of everything in the record but its hash. */
export const hashRecord = (record: Omit<AuditRecord, 'hash'>): string => {
  const { hash: _ignored, ...content } = record as AuditRecord;
  const text = canonicalJson(content);
  if (text === undefined) throw new TypeError('record cannot be canonicalized');
  return createHash('sha256').update(text).digest('hex');
};

/** Seals a draft into a record with its tenant, id and timestamp, dropping absent fields. */
export const sealRecord = (tenant: string, id: number, timestamp: number, draft: EventDraft): AuditRecord => {
  const content: Record<string, unknown> = { tenant, id, timestamp };
  for (const [key, value] of Object.entries(draft)) {
    if (key !== 'timestamp' && value !== undefined) content[key] = value;
  }
  const withoutHash = content as unknown as Omit<AuditRecord, 'hash'>;
  return { ...withoutHash, hash: hashRecord(withoutHash) };
};
