import { S3LargeResponseStore } from '../adapters/s3-response-store.js';
import type { LargeResponseStore } from '../ports/response-store.js';
import { perConfig } from './memo.js';
import { s3Client } from './s3-client.js';

/** Parks oversized api-key pages in the exports bucket (303 with `allowRedirect=true`). */
export const largeResponseStore = /* @__PURE__ */ perConfig(
  (config): LargeResponseStore =>
    new S3LargeResponseStore(s3Client(config), { bucket: config.EXPORTS_BUCKET }),
);
