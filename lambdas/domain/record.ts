import { hash as oneShotHash } from 'node:crypto';
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

/** SHA-256 (hex) of the RFC 8785 canonical JSON of `content`, which holds no hash. */
const hashOfContent = (content: object): string => {
  const text = canonicalJson(content);
  if (text === undefined) throw new TypeError('record cannot be canonicalized');
  // One-shot crypto.hash: half the cost of createHash/update/digest on an entry's few hundred bytes.
  return oneShotHash('sha256', text, 'hex');
};

/** SHA-256 of the RFC 8785 canonical JSON of everything in the record but its hash. */
export const hashRecord = (record: Omit<AuditRecord, 'hash'>): string => {
  const { hash: _ignored, ...content } = record as AuditRecord;
  return hashOfContent(content);
};

/** Seals a draft into a record with its tenant, id and timestamp, dropping absent fields. */
export const sealRecord = (tenant: string, id: number, timestamp: number, draft: EventDraft): AuditRecord => {
  const content: Record<string, unknown> = { tenant, id, timestamp };
  const fields = draft as unknown as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    // Assigning `__proto__` would set the prototype, not add a member: it never became one (the
    // copy that sealing made dropped it), and the schema refuses unknown names anyway.
    if (key !== 'timestamp' && key !== '__proto__' && value !== undefined) content[key] = value;
  }
  // The hash is set on the content itself, where a copy with it last cost as much as hashing: it
  // lands last, or where a draft's own `hash` member was (whose value it replaces, as before).
  content.hash = Object.hasOwn(content, 'hash')
    ? hashRecord(content as unknown as AuditRecord)
    : hashOfContent(content);
  return content as unknown as AuditRecord;
};
