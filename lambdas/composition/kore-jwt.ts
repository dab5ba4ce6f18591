import type { HttpDependencies } from '../http/context.js';
import type { TlogReader } from '../ports/tlog.js';
import { Authenticator } from '../use-cases/authenticate.js';
import { KoreJwtVerifier } from '../use-cases/kore-jwt.js';
import type { RangeDependencies } from '../use-cases/range-counts.js';
import type { ServiceConfig } from './config.js';
import { coreServices, counterStore, koreAppStore, tokenLookup } from './dynamodb.js';
import { httpDependenciesWith } from './http.js';
import { perConfig } from './memo.js';
import { tlogStore } from './tlog-store.js';

/**
 * The functions that see kore JWTs: the kore endpoint (its dialect takes a JWT in the `auth`
 * header) and the Lambda authorizer (it serves every route, the kore one included). Only they get
 * an `Authenticator` with the JWT verifier, and only their bundles hold jose; every other function
 * resolves tokens alone (`tokenAuthenticator` in `http.ts`).
 */

/** The resolver of tokens and kore JWTs. */
export const jwtAuthenticator = /* @__PURE__ */ perConfig((config: ServiceConfig): Authenticator => {
  return new Authenticator(tokenLookup(config), {
    cacheSeconds: config.AUTH_CACHE_SECONDS,
    jwt: new KoreJwtVerifier(koreAppStore(config), { cacheSeconds: config.AUTH_CACHE_SECONDS }),
  });
});

/** The Lambda authorizer's: the resolver of credentials. */
export interface AuthorizerDependencies {
  readonly authenticator: HttpDependencies['authenticator'];
}
export const authorizerDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): AuthorizerDependencies => ({ authenticator: jwtAuthenticator(config) }),
);

/** The kore dialect's `GET /api/public/auditlogs`. */
export type KoreAuditLogsDependencies = HttpDependencies & {
  readonly range: RangeDependencies;
  /** The verifiable log, read for a page's proofs when asked (`proofs=inclusion`). */
  readonly tlog: () => TlogReader;
};
export const koreAuditLogsDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): KoreAuditLogsDependencies => {
    const { events } = coreServices(config);
    const counters = counterStore(config);
    return {
      ...httpDependenciesWith(config, jwtAuthenticator(config)),
      range: { events, counters },
      tlog: () => tlogStore(config),
    };
  },
);
