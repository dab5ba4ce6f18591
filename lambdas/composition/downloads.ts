import type { HttpDependencies } from '../http/context.js';
import type { DownloadDependencies } from '../use-cases/download-audit-trail.js';
import type { ServiceConfig } from './config.js';
import { exportLauncher } from './export-launcher.js';
import { exportDependencies } from './exports.js';
import { httpDependencies } from './http.js';
import { perConfig } from './memo.js';

/** What a download needs: the export stores, and the launcher that hands a large export to a job. */
export const downloadDependencies = (config: ServiceConfig): DownloadDependencies => ({
  ...exportDependencies(config),
  launcher: exportLauncher(config),
});

/** `GET /api/v1/audit_trail/download`: the download's stores (503 without a bucket) and its time budget. */
export type DownloadJsonDependencies = HttpDependencies & {
  readonly download: () => DownloadDependencies;
  readonly budget: { readonly fixedMs: number | undefined; readonly marginMs: number };
  readonly urlTtlSeconds: number;
};
export const downloadJsonDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): DownloadJsonDependencies => ({
    ...httpDependencies(config),
    download: () => downloadDependencies(config),
    budget: { fixedMs: config.DOWNLOAD_REQUEST_BUDGET_MS, marginMs: config.DOWNLOAD_BUDGET_MARGIN_MS },
    urlTtlSeconds: config.DOWNLOAD_URL_TTL_SECONDS,
  }),
);
