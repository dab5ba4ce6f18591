import type { HttpDependencies } from '../http/context.js';
import type { PurgeJobStore } from '../ports/purge-job-store.js';
import { Authenticator } from '../use-cases/authenticate.js';
import type { IngestDependencies } from '../use-cases/ingest-events.js';
import type { ServiceConfig } from './config.js';
import { coreServices, idempotencyStore, purgeStore, tokenLookup } from './dynamodb.js';
import { perConfig } from './memo.js';
import { selfAuditChannel } from './self-audit.js';

/**
 * The dependencies of the endpoints that need DynamoDB only, and of the shared HTTP middleware
 * chain. Endpoints that also need S3, Secrets Manager or a launcher have their own module
 * (`browse.ts`, `archives.ts`, `downloads.ts`, `purge.ts`), so their clients stay out of these
 * bundles; the two whose routes take kore JWTs (the kore endpoint, the authorizer) are in
 * `kore-jwt.ts`, so jose stays out of every other bundle.
 */

/**
 * The resolver of tokens for every function whose routes take no JWT: it has no JWT verifier, so
 * jose stays out of those bundles (the kore endpoint and the authorizer get theirs from
 * `kore-jwt.ts`).
 */
export const tokenAuthenticator = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): Authenticator =>
    new Authenticator(tokenLookup(config), { cacheSeconds: config.AUTH_CACHE_SECONDS }),
);

/** The middleware chain's dependencies around `authenticator`. */
export const httpDependenciesWith = (
  config: ServiceConfig,
  authenticator: HttpDependencies['authenticator'],
): HttpDependencies => ({
  authenticator,
  selfAudit: selfAuditChannel(config),
  corsAllowOrigins: config.CORS_ALLOW_ORIGINS,
});

/** What every HTTP endpoint's middleware chain needs (the 404 fallback needs nothing more). */
export const httpDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): HttpDependencies => httpDependenciesWith(config, tokenAuthenticator(config)),
);

/** `POST /api/v1/audit_trail` (HTTP ingest). */
export type IngestEventsEndpointDependencies = HttpDependencies & { readonly ingest: IngestDependencies };
export const ingestEventsDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): IngestEventsEndpointDependencies => ({
    ...httpDependencies(config),
    ingest: { events: coreServices(config).events, idempotency: idempotencyStore(config) },
  }),
);

/** `GET /api/v1/audit_trail/purge/{job}`. */
export type PurgeStatusDependencies = HttpDependencies & { readonly purges: Pick<PurgeJobStore, 'get'> };
export const purgeStatusDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): PurgeStatusDependencies => ({
    ...httpDependencies(config),
    purges: purgeStore(config),
  }),
);
