import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { UnauthorizedError } from '../domain/errors.js';
import { isKoreAppId } from '../domain/kore-apps.js';
import type { Principal } from '../domain/scopes.js';
import type { KoreAppRecord, KoreAppStore } from '../ports/kore-app-store.js';
import type { JwtVerifier } from './authenticate.js';

/** How far a JWT's `exp` and `iat` may be off from our clock (clients' clocks drift). */
export const JWT_CLOCK_SKEW_SECONDS = 60;
/**
 * The longest a kore JWT may live: `exp` at most this far after `iat` and after now (plus the
 * skew). A leaked JWT with `exp` in year 9999 would otherwise be a password that never expires.
 */
export const JWT_MAX_LIFETIME_SECONDS = 24 * 3600;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_JWT_LENGTH = 8192;

/** Verifies signatures of JWTs naming no app: random, never stored, so nothing verifies with it. */
const UNKNOWN_APP_SECRET = new Uint8Array(randomBytes(32));

/**
 * True when `part` is the one base64url encoding of its bytes: no padding, and the low bits of
 * the last character that carry no data are zero (decoders ignore them, so without this check
 * 2^k spellings of one signature would all verify).
 */
const isCanonicalBase64Url = (part: string): boolean =>
  Buffer.from(part, 'base64url').toString('base64url') === part;

/**
 * Resolves kore JWTs (HS256, signed with a registered app's client secret) to the app's principal,
 * remembering app lookups briefly (per container). Its own module, with jose, so that only the
 * functions that take JWTs (the kore endpoint and the authorizer) bundle it: the composition root
 * hands it to their `Authenticator` (`composition/kore-jwt.ts`).
 */
export class KoreJwtVerifier implements JwtVerifier {
  readonly #koreApps: KoreAppStore;
  readonly #cacheMs: number;
  readonly #clock: () => number;
  readonly #appCache = new Map<string, { app: KoreAppRecord | undefined; until: number }>();

  constructor(koreApps: KoreAppStore, options: { cacheSeconds: number; clock?: () => number }) {
    this.#koreApps = koreApps;
    this.#cacheMs = options.cacheSeconds * 1000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Kore JWTs: HS256 only (`alg: none` and every other algorithm are refused before any lookup),
   * each part in canonical base64url (one encoding per signature: the unused low bits of the last
   * character must be zero), verified with the client secret of the app named by the `appId`
   * claim. An unknown app and a wrong signature get the same answer after the same work, so the
   * answers do not tell which app ids exist. `exp` is required and honoured, at most
   * {@link JWT_MAX_LIFETIME_SECONDS} ahead (and after `iat`); an `iat` in the future is refused;
   * all within {@link JWT_CLOCK_SKEW_SECONDS}. Messages never echo the token.
   */
  async verify(jwt: string): Promise<Principal> {
    const invalid = (why = 'is not valid') => new UnauthorizedError(`The JWT in the auth header ${why}`);
    if (jwt.length > MAX_JWT_LENGTH || !JWT_SHAPE.test(jwt)) throw invalid('is not a JWT');
    if (!jwt.split('.').every(isCanonicalBase64Url)) throw invalid('is not a JWT');
    let algorithm: unknown;
    let appId: unknown;
    let issuedAt: unknown;
    try {
      algorithm = decodeProtectedHeader(jwt).alg;
      ({ appId, iat: issuedAt } = decodeJwt(jwt));
    } catch {
      throw invalid('is not a JWT');
    }
    if (algorithm !== 'HS256') throw invalid('must be signed with HS256');
    if (typeof appId !== 'string' || !isKoreAppId(appId)) throw invalid('has no valid appId claim');
    const app = await this.#findApp(appId);
    const now = this.#clock();
    let expiresAt: unknown;
    try {
      // An unknown app is checked against a secret no app has, so it costs what a wrong signature
      // costs and fails the same way.
      ({
        payload: { exp: expiresAt },
      } = await jwtVerify(jwt, app ? new TextEncoder().encode(app.clientSecret) : UNKNOWN_APP_SECRET, {
        algorithms: ['HS256'],
        requiredClaims: ['exp'],
        clockTolerance: JWT_CLOCK_SKEW_SECONDS,
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (app && error instanceof joseErrors.JWTExpired) throw invalid('has expired');
      if (app && error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'exp')
        throw invalid('has no exp claim');
      throw invalid();
    }
    if (!app) throw invalid();
    if (typeof issuedAt === 'number' && issuedAt * 1000 > now + JWT_CLOCK_SKEW_SECONDS * 1000)
      throw invalid('was issued in the future');
    if (
      typeof expiresAt !== 'number' ||
      expiresAt * 1000 > now + (JWT_MAX_LIFETIME_SECONDS + JWT_CLOCK_SKEW_SECONDS) * 1000 ||
      (typeof issuedAt === 'number' && expiresAt - issuedAt > JWT_MAX_LIFETIME_SECONDS)
    )
      throw invalid(`lives too long: exp may be at most ${JWT_MAX_LIFETIME_SECONDS / 3600} h ahead`);
    return { tenant: app.tenant, tokenId: app.appId, tokenName: app.name, scopes: app.scopes };
  }

  /** The app with this id, remembered briefly like token lookups. */
  async #findApp(appId: string): Promise<KoreAppRecord | undefined> {
    const now = this.#clock();
    const cached = this.#appCache.get(appId);
    if (cached && cached.until > now) return cached.app;
    const app = await this.#koreApps.findApp(appId);
    if (this.#cacheMs > 0) {
      if (this.#appCache.size >= 10_000) this.#appCache.clear();
      this.#appCache.set(appId, { app, until: now + this.#cacheMs });
    }
    return app;
  }
}
