import { KORE_APP_ID_PATTERN } from './kore-apps.js';

/**
 * What only this service may write, so that no ingested event can pass for one of its own records
 * (a self-audit `api_request`, a purge or a download record) in any dialect. Compared after
 * folding: Unicode NFKC, lower case, everything but letters and digits removed, so `API_REQUEST`,
 * `Api-Request`, `audit.trail.purged` and `Audit  Trail ` are reserved like the originals.
 *
 * | what | reserved | where a client sees it |
 * | --- | --- | --- |
 * | `action_type` | `api_request` and every `audit_trail…` | canary `action_type`, kore `Name` |
 * | `category` | `Audit trail` | kore `Category`, api-key `meta.service` |
 * | `api_key.id` | this service's token ids (`tok_…`) and kore app ids (`cs-…`) | api-key `userApiKey.id` and its filter |
 */

/** Folds a text to the form reserved names are compared in. */
export const foldName = (text: string): string =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');

/** Whether `action` is one of this service's own action types, or could pass for one. */
export const isReservedActionType = (action: string): boolean => {
  const folded = foldName(action);
  return folded === 'apirequest' || folded.startsWith('audittrail');
};

/** Whether `category` is (or could pass for) the category of this service's own records. */
export const isReservedCategory = (category: string): boolean => foldName(category) === 'audittrail';

/** Whether `id` has the shape of this service's token ids or kore app ids. */
export const isReservedApiKeyId = (id: string): boolean => {
  const trimmed = id.normalize('NFKC').trim();
  return /^tok_/i.test(trimmed) || KORE_APP_ID_PATTERN.test(trimmed.replace(/^CS-/i, 'cs-'));
};
