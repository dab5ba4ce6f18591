import { createHash, randomBytes } from 'node:crypto';

/** Tenant names: 3–64 of letters, digits, '.', '_' and '-' ('#' separates keys in the store). */
export const TENANT_PATTERN = /^[A-Za-z0-9._-]{3,64}$/;
/** Tokens: 20–128 URL-safe characters (generated ones are "ats_" + 43 base64url characters). */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{20,128}$/;

/**
 * The tenant that records calls made without a usable credential. '#' is not allowed in tenant
 * names, so no token can ever belong to it; operators read it directly. The retention scheduler
 * purges it after `UNAUTHENTICATED_RETENTION_DAYS`, without archiving.
 */
export const UNAUTHENTICATED_TENANT = '#unauthenticated';

export const isValidTenant = (tenant: string): boolean => TENANT_PATTERN.test(tenant);
export const isWellFormedToken = (token: string): boolean => TOKEN_PATTERN.test(token);

/** SHA-256 (hex) of a token: the only form in which tokens are stored. */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token (256 bits) and its public id. */
export const generateToken = (): { token: string; tokenId: string } => ({
  token: `ats_${randomBytes(32).toString('base64url')}`,
  tokenId: `tok_${randomBytes(8).toString('hex')}`,
});
