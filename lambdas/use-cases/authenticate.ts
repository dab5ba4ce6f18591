import { ForbiddenError, UnauthorizedError } from '../domain/errors.js';
import { hasScope, type Principal, type Scope } from '../domain/scopes.js';
import { hashToken, isWellFormedToken } from '../domain/tokens.js';
import type { TokenLookup } from '../ports/control-store.js';

/** Where a request may carry its credential (the HTTP layer finds it: `http/credentials.ts`). */
export type CredentialSource = 'x-api-key' | 'authorization' | 'auth_token' | 'auth';

/** The credential a request carried, if any, and where it was found. */
export type Credential =
  | {
      readonly kind: 'token';
      readonly value: string;
      readonly source: 'x-api-key' | 'authorization' | 'auth_token';
    }
  /** A kore JWT (HS256, signed with a registered app's client secret) from the `auth` header. */
  | { readonly kind: 'jwt'; readonly value: string; readonly source: 'auth' };

/**
 * Resolves a kore JWT to its app's principal (`use-cases/kore-jwt.ts`, which bundles jose). Only
 * the functions whose routes take JWTs (the kore endpoint, the authorizer) are given one.
 */
export interface JwtVerifier {
  verify(jwt: string): Promise<Principal>;
}

/**
 * Resolves credentials to principals, remembering token answers briefly (per container). A JWT is
 * resolved by the `jwt` verifier; without one (every function whose routes take no JWT: their
 * dialects never read the `auth` header) a JWT is refused as not valid, before any lookup.
 */
export class Authenticator {
  readonly #tokens: TokenLookup;
  readonly #cacheMs: number;
  readonly #clock: () => number;
  readonly #cache = new Map<string, { principal: Principal | undefined; until: number }>();
  readonly #jwt: JwtVerifier | undefined;

  constructor(
    tokens: TokenLookup,
    options: { cacheSeconds: number; clock?: () => number; jwt?: JwtVerifier },
  ) {
    this.#tokens = tokens;
    this.#cacheMs = options.cacheSeconds * 1000;
    this.#clock = options.clock ?? Date.now;
    this.#jwt = options.jwt;
  }

  /** The principal behind `credential`; 401 when it is missing or unknown. */
  async authenticate(credential: Credential | undefined): Promise<Principal> {
    if (!credential)
      throw new UnauthorizedError(
        'No credentials were provided: pass auth_token, x-api-key or Authorization: Bearer',
      );
    if (credential.kind === 'jwt') {
      if (!this.#jwt) throw new UnauthorizedError('The JWT in the auth header is not valid');
      return this.#jwt.verify(credential.value);
    }
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
        ...(token.actor !== undefined ? { actor: token.actor } : {}),
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

/**
 * 403 when `principal` is narrowed to one actor: for endpoints that serve or change the whole
 * tenant (downloads, purges, archives, ingest), which a narrowed token must never reach.
 */
export const requireWholeTenant = (principal: Principal): void => {
  if (principal.actor !== undefined)
    throw new ForbiddenError(
      "This token only reads one actor's entries and cannot use this endpoint; read them with GET /api/v1/audit_trail/fetch",
    );
};
