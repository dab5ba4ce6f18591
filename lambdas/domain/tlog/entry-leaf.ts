import canonicalize from 'canonicalize';
import { canonicalJson } from '../canonical-json.js';
import type { AuditRecord } from '../record.js';
import { type Hash, leafHashOfText } from './merkle.js';

/**
 * What a tenant's log commits to for one entry: the RFC 8785 canonical JSON of the entry without its
 * `hash` field (the same text that field is the SHA-256 of), as UTF-8. The leaf hash is
 * SHA-256(0x00 ‖ that text), so anyone holding the entry recomputes it without the service.
 */
export const entryLeafData = (record: Omit<AuditRecord, 'hash'> & { readonly hash?: string }): Uint8Array =>
  new Uint8Array(Buffer.from(entryLeafText(record), 'utf8'));

/**
 * {@link entryLeafData} as text: the entry's RFC 8785 canonical JSON without its `hash` field.
 * `canonicalJson` writes exactly what the `canonicalize` package writes (it hands anything it does
 * not cover to the package), in one pass: the stream consumer canonicalizes every entry it sequences.
 */
export const entryLeafText = (record: Omit<AuditRecord, 'hash'> & { readonly hash?: string }): string => {
  const { hash: _ignored, ...content } = record;
  const text = canonicalJson(content);
  if (text === undefined) throw new TypeError('entry cannot be canonicalized');
  return text;
};

/** SHA-256(0x00 ‖ canonical entry): the entry's leaf in its tenant's log. */
export const entryLeafHash = (record: Omit<AuditRecord, 'hash'> & { readonly hash?: string }): Hash =>
  leafHashOfText(entryLeafText(record));

/** The log's name (C2SP origin) for a tenant: `<service origin>/<tenant>`. */
export const tenantOrigin = (serviceOrigin: string, tenant: string): string => `${serviceOrigin}/${tenant}`;

/**
 * The entry a text holds when that text is the entry's canonical form (what its leaf commits to),
 * else undefined: only canonical text is accepted, so one entry has exactly one leaf.
 */
export const parseCanonicalEntry = (text: string): AuditRecord | undefined => {
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    if (canonicalize(value) !== text) return undefined;
    const record = value as AuditRecord;
    return typeof record.id === 'number' && typeof record.tenant === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
};
