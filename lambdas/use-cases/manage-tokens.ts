import { BadRequestError, ConflictError } from '../domain/errors.js';
import { isValidActor, type Scope } from '../domain/scopes.js';
import { generateToken, hashToken, isValidTenant, isWellFormedToken } from '../domain/tokens.js';
import type { TokenRecord, TokenStore } from '../ports/control-store.js';
import type { TenantStore } from '../ports/tenant-store.js';
import { registerTenant } from './register-tenant.js';

/** A token as shown once, at creation. */
export interface IssuedToken {
  readonly token: string;
  readonly record: TokenRecord;
}

/**
 * Creates a token for `tenant`. The token is returned once and only its SHA-256 is stored.
 * `presetToken` lets an operator choose the value (the local demo token); it must be well formed.
 * The tenant is registered first (`registerTenant`: the retention scheduler purges registered
 * tenants), so no token exists for a tenant retention does not know.
 */
export const issueToken = async (
  tokens: TokenStore,
  request: {
    tenant: string;
    scopes: readonly Scope[];
    name?: string;
    presetToken?: string;
    now?: number;
    /** Narrows the token to this actor's entries (see `Principal.actor`); read scope only. */
    actor?: string;
  },
  tenants: TenantStore,
): Promise<IssuedToken> => {
  if (!isValidTenant(request.tenant)) {
    throw new BadRequestError('tenant must be 3-64 letters, digits, ".", "_" or "-"', { field: 'tenant' });
  }
  if (request.presetToken !== undefined && !isWellFormedToken(request.presetToken)) {
    throw new BadRequestError('a token must be 20-128 URL-safe characters', { field: 'token' });
  }
  if (request.actor !== undefined) {
    if (!isValidActor(request.actor))
      throw new BadRequestError('an actor must be 1-256 characters', { field: 'actor' });
    // Every endpoint but the read dialects refuses a narrowed token, so other scopes would only mislead.
    if (request.scopes.some((scope) => scope !== 'read'))
      throw new BadRequestError('a token narrowed to one actor can only have the read scope', {
        field: 'scopes',
      });
  }
  const generated = generateToken();
  const token = request.presetToken ?? generated.token;
  const record: TokenRecord = {
    tenant: request.tenant,
    tokenId: generated.tokenId,
    name: request.name ?? `${request.scopes.join('+')} token`,
    scopes: request.scopes,
    tokenHash: hashToken(token),
    createdAt: request.now ?? Date.now(),
    ...(request.actor !== undefined ? { actor: request.actor } : {}),
  };
  await registerTenant(tenants, request.tenant, record.createdAt);
  await tokens.putToken(record);
  return { token, record };
};

/**
 * Ensures a token with this exact value exists for `tenant` (idempotent: the local stack calls it
 * on every start with the same DEMO_TOKEN).
 */
export const ensureToken = async (
  tokens: TokenStore,
  request: { tenant: string; scopes: readonly Scope[]; name: string; token: string },
  tenants: TenantStore,
): Promise<TokenRecord> => {
  const existing = await tokens.findTokenByHash(hashToken(request.token));
  if (existing) {
    if (existing.tenant !== request.tenant)
      throw new ConflictError('This token already belongs to another tenant');
    await registerTenant(tenants, request.tenant, existing.createdAt);
    return existing;
  }
  return (await issueToken(tokens, { ...request, presetToken: request.token }, tenants)).record;
};
