import { toApiKeyEntry } from '../api-key-view.js';
import { toCanaryEntry } from '../canary-view.js';
import { toKoreEntry } from '../kore-view.js';
import type { NoteVerifier } from './note.js';
import { type PageVerdict, verifyPageProofs } from './page-proofs.js';

/** The dialect a saved page was answered in, as read from its shape. */
export type PageDialect = 'canary' | 'kore' | 'api-key';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a page saved from any dialect with `proofs=inclusion` (its JSON body, as answered): the
 * dialect is read from the page's shape (canary `audit_trail` + `tlog`, kore `auditlogs` + `tlog`,
 * api-key `data` + `meta.tlog`), then every shown entry is checked as {@link verifyPageProofs}
 * does. A canary page fetched with `tz` shows `timestamp_std`: pass the same `timeZone`.
 * A page without proofs, or of no known shape, is not verified and says why.
 */
export const verifySavedPage = (
  page: unknown,
  options: {
    readonly trusted: readonly (NoteVerifier | string)[];
    readonly timeZone?: string;
    readonly requireAll?: boolean;
  },
): PageVerdict & { readonly dialect?: PageDialect } => {
  const refuse = (problem: string): PageVerdict => ({
    ok: false,
    problems: [problem],
    proven: 0,
    uncovered: 0,
    treeSize: 0,
  });
  if (!isObject(page)) return refuse('the page is not a JSON object');
  const common = { trusted: options.trusted, ...(options.requireAll ? { requireAll: true } : {}) };
  if (Array.isArray(page.audit_trail)) {
    const shown = page.audit_trail as unknown[];
    const zoned = shown.some((entry) => isObject(entry) && 'timestamp_std' in entry);
    if (zoned && options.timeZone === undefined)
      return refuse('the page was fetched with tz (it shows timestamp_std): give the same time zone');
    const verdict = verifyPageProofs({
      ...common,
      shown,
      proofs: page.tlog,
      view: (record) => toCanaryEntry(record, zoned ? options.timeZone : undefined),
      idOf: (entry) => (isObject(entry) && typeof entry.id === 'number' ? entry.id : undefined),
    });
    return { ...verdict, dialect: 'canary' };
  }
  if (Array.isArray(page.auditlogs)) {
    const verdict = verifyPageProofs({
      ...common,
      shown: page.auditlogs,
      proofs: page.tlog,
      view: (record) => toKoreEntry(record),
      idOf: (entry) => (isObject(entry) ? idNumber(entry.AuditLogId) : undefined),
    });
    return { ...verdict, dialect: 'kore' };
  }
  if (Array.isArray(page.data)) {
    const verdict = verifyPageProofs({
      ...common,
      shown: page.data,
      proofs: isObject(page.meta) ? page.meta.tlog : undefined,
      view: (record) => toApiKeyEntry(record),
      idOf: (entry) => (isObject(entry) ? idNumber(entry.id) : undefined),
    });
    return { ...verdict, dialect: 'api-key' };
  }
  return refuse('not a page of a known dialect (canary audit_trail, kore auditlogs or api-key data)');
};

/** An entry id shown as a decimal string (kore, api-key) or number. */
const idNumber = (value: unknown): number | undefined => {
  const id = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined;
};
