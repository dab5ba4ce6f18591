import type { HttpDependencies } from '../http/context.js';
import type { LargeResponseStore } from '../ports/response-store.js';
import type { TlogReader } from '../ports/tlog.js';
import type { ApiKeyPageDependencies } from '../use-cases/api-key-pages.js';
import { apiKeyPageDependencies } from './browse.js';
import type { ServiceConfig } from './config.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';
import { largeResponseStore } from './response-objects.js';
import { tlogStore } from './tlog-store.js';

/** The api-key dialect's `GET /api/v1/audit-trail`: its pages, and S3 for the oversized ones. */
export type ApiKeyAuditTrailDependencies = HttpDependencies & {
  readonly pages: () => Promise<ApiKeyPageDependencies>;
  readonly largeResponses: () => LargeResponseStore;
  /** The verifiable log, read for a page's proofs when asked (`proofs=inclusion`). */
  readonly tlog: () => TlogReader;
};
export const apiKeyAuditTrailDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): ApiKeyAuditTrailDependencies => ({
    ...httpDependencies(config),
    pages: apiKeyPageDependencies(config),
    largeResponses: () => largeResponseStore(config),
    tlog: () => tlogStore(config),
  }),
);
