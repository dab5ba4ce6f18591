import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../adapters/aws-clients.js';
import { perConfig } from './memo.js';

/**
 * The S3 side of the composition root is split by store (`archive-objects.ts`,
 * `response-objects.ts`, `objects.ts`): a module imports its adapter, and an adapter's code lands
 * only in the bundles of the handlers that use that store. All stores of one configuration share
 * this one client.
 */

/** The S3 client of `config`. */
export const s3Client = /* @__PURE__ */ perConfig(
  (config): S3Client =>
    createS3Client({
      region: config.AWS_REGION,
      ...(config.S3_ENDPOINT ? { s3Endpoint: config.S3_ENDPOINT } : {}),
    }),
);
