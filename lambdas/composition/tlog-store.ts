import { DynamoDbTlogStore } from '../adapters/dynamodb-tlog.js';
import type { ServiceConfig } from './config.js';
import { coreServices } from './dynamodb.js';
import { perConfig } from './memo.js';

/*
 * The verifiable log's composition is split so a bundle holds what its handler uses: the store
 * alone here (the pages' proofs), the signer in `tlog-signer.ts` (the stream consumer, the proof
 * endpoints), and in `tlog.ts` the proof files of downloads and archives (which bring S3).
 */

/** The tenants' verifiable logs in the control table. */
export const tlogStore = /* @__PURE__ */ perConfig(
  (config: ServiceConfig) =>
    new DynamoDbTlogStore(coreServices(config).doc, { controlTable: config.CONTROL_TABLE }),
);
