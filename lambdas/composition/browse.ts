import type { HttpDependencies } from '../http/context.js';
import type { TlogReader } from '../ports/tlog.js';
import type { ApiKeyPageDependencies } from '../use-cases/api-key-pages.js';
import type { BrowseDependencies } from '../use-cases/browse-pages.js';
import type { ServiceConfig } from './config.js';
import { cursorKey } from './cursor-key.js';
import { coreServices, counterStore } from './dynamodb.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';
import { tlogStore } from './tlog-store.js';

/**
 * The canary dialect's paged reads (`GET /api/v1/audit_trail/fetch`). The cursor key is read on
 * first use (Secrets Manager in AWS), inside the request, so a failed read is answered and
 * recorded like any other failure.
 */
export type CanaryFetchDependencies = HttpDependencies & {
  readonly browse: () => Promise<BrowseDependencies>;
  /** The verifiable log, read for a page's proofs when asked (`proofs=inclusion`). */
  readonly tlog: () => TlogReader;
};
export const canaryFetchDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): CanaryFetchDependencies => {
    const { events, clock } = coreServices(config);
    const counters = counterStore(config);
    return {
      ...httpDependencies(config),
      browse: async () => ({
        events,
        counters,
        cursorKey: await cursorKey(config),
        cursorTtlSeconds: config.CURSOR_TTL_SECONDS,
        clock,
      }),
      tlog: () => tlogStore(config),
    };
  },
);

/** The api-key dialect's pages, without the store that parks oversized ones (`api-key.ts` adds it). */
export const apiKeyPageDependencies =
  (config: ServiceConfig) => async (): Promise<ApiKeyPageDependencies> => {
    const { events, clock } = coreServices(config);
    return { events, cursorKey: await cursorKey(config), cursorTtlSeconds: config.CURSOR_TTL_SECONDS, clock };
  };
