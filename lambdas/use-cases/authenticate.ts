import { ForbiddenError, UnauthorizedError } from '../domain/errors.js';
import { hasScope, type Principal, type Scope } from '../domain/scopes.js';
import { hashToken, isWellFormedToken } from '../domain/tokens.js';
import type { TokenStore } from '../ports/control-store.js';

/** The credential a request carried, if any, and where it was found. */
export interface Credential {
  readonly kind: 'token';
  readonly value: string;
  readonly source: 'x-api-key' | 'authorization' | 'auth_token';
}

type Parameters = Readonly<Record<string, string | undefined>>;

/**
 * Finds the caller's token in any accepted form: `x-api-key` header, `Authorization: Bearer`,
 * or `auth_token` in the query string or form body. `headers` keys must be lower case.
 */
export const extractCredential = (
  headers: Parameters,
  query: Parameters,
  form: Parameters = {},
): Credential | undefined => {
  const apiKey = headers['x-api-key'];
  if (apiKey) return { kind: 'token', value: apiKey.trim(), source: 'x-api-key' };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (bearer?.[1]) return { kind: 'token', value: bearer[1], source: 'authorization' };
  const authToken = query.auth_token ?? form.auth_token;
  if (authToken) return { kind: 'token', value: authToken.trim(), source: 'auth_token' };
  return undefined;
};

/** Resolves credentials to principals, remembering answers briefly (per container). */
export class Authenticator {
  readonly #tokens: TokenStore;
  readonly #cacheMs: number;
  readonly #clock: () => number;
  readonly #cache = new Map<string, { principal: Principal | undefined; until: number }>();

  constructor(tokens: TokenStore, options: { cacheSeconds: number; clock?: () => number }) {
    this.#tokens = tokens;
    this.#cacheMs = options.cacheSeconds * 1000;
    this.#clock = options.clock ?? Date.now;
  }

  /** The principal behind `credential`; 401 when it is missing or unknown. */
  async authenticate(credential: Credential | undefined): Promise<Principal> {
    if (!credential)
      throw new UnauthorizedError(
        'No credentials were provided: pass auth_token, x-api-key or Authorization: Bearer',
      );
    if (!isWellFormedToken(credential.value))
      throw new UnauthorizedError('The credentials provided are not valid');
    const tokenHash = hashToken(credential.value);
    const now = this.#clock();
    const cached = this.#cache.get(tokenHash);
    let principal: Principal | undefined;
    if (cached && cached.until > now) {
      principal = cached.principal;
    } else {
      const token = await this.#tokens.findTokenByHash(tokenHash);
      principal = token && {
        tenant: token.tenant,
        tokenId: token.tokenId,
        tokenName: token.name,
        scopes: token.scopes,
      };
      if (this.#cacheMs > 0) {
        if (this.#cache.size >= 10_000) this.#cache.clear();
        this.#cache.set(tokenHash, { principal, until: now + this.#cacheMs });
      }
    }
    if (!principal) throw new UnauthorizedError('The credentials provided are not valid');
    return principal;
  }
}

/** 403 unless `principal` holds `scope`. */
export const requireScope = (principal: Principal, scope: Scope): void => {
  if (!hasScope(principal, scope)) throw new ForbiddenError(`This token lacks the "${scope}" scope`);
};
