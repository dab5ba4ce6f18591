import type { HttpDependencies } from '../http/context.js';
import type { PurgeJobStore } from '../ports/purge-job-store.js';
import type { Authenticator } from '../use-cases/authenticate.js';
import type { IngestDependencies } from '../use-cases/ingest-events.js';
import type { RangeDependencies } from '../use-cases/range-counts.js';
import type { ServiceConfig } from './config.js';
import { coreServices, idempotencyStore, purgeStore } from './dynamodb.js';
import { perConfig } from './memo.js';

/**
 * The dependencies of the endpoints that need DynamoDB only, and of the shared HTTP middleware
 * chain. Endpoints that also need S3, Secrets Manager or a launcher have their own module
 * (`browse.ts`, `archives.ts`, `downloads.ts`, `purge.ts`), so their clients stay out of these
 * bundles.
 */

/** What every HTTP endpoint's middleware chain needs (the 404 fallback needs nothing more). */
export const httpDependencies = /* @__PURE__ */ perConfig((config: ServiceConfig): HttpDependencies => {
  const { authenticator, events } = coreServices(config);
  return { authenticator, events, corsAllowOrigins: config.CORS_ALLOW_ORIGINS };
});

/** The Lambda authorizer's: the resolver of credentials. */
export interface AuthorizerDependencies {
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
}
export const authorizerDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): AuthorizerDependencies => ({ authenticator: coreServices(config).authenticator }),
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

/** The kore dialect's `GET /api/v1/auditlogs`. */
export type KoreAuditLogsDependencies = HttpDependencies & { readonly range: RangeDependencies };
export const koreAuditLogsDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): KoreAuditLogsDependencies => {
    const { events, counters } = coreServices(config);
    return { ...httpDependencies(config), range: { events, counters } };
  },
);
