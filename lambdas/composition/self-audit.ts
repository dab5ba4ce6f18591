import type { CloudWatchLogsEvent } from 'aws-lambda';
import { subscriptionLines } from '../adapters/cloudwatch-logs.js';
import { JournalSelfAuditChannel, LogLineSelfAuditChannel } from '../adapters/self-audit-channels.js';
import type { SelfAuditChannel } from '../ports/self-audit-channel.js';
import type { IngestDependencies } from '../use-cases/ingest-events.js';
import type { ServiceConfig } from './config.js';
import { coreServices, idempotencyStore } from './dynamodb.js';
import { perConfig } from './memo.js';

/**
 * Where the HTTP functions hand their self-audit records: a journal file locally
 * (`SELF_AUDIT_JOURNAL`), a log line on stdout in Lambda (the log group's subscription delivers it).
 */
export const selfAuditChannel = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): SelfAuditChannel =>
    config.SELF_AUDIT_JOURNAL !== undefined
      ? new JournalSelfAuditChannel(config.SELF_AUDIT_JOURNAL)
      : new LogLineSelfAuditChannel(),
);

/** The self-audit consumer's: the ingest path's idempotent append. */
export const storeSelfAuditDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): IngestDependencies => ({
    events: coreServices(config).events,
    idempotency: idempotencyStore(config),
  }),
);

/** The store-self-audit function's: the store, and how a subscription delivery becomes lines. */
export interface StoreSelfAuditFunctionDependencies {
  readonly store: IngestDependencies;
  readonly linesOf: (event: CloudWatchLogsEvent) => string[];
}
export const storeSelfAuditFunctionDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): StoreSelfAuditFunctionDependencies => ({
    store: storeSelfAuditDependencies(config),
    linesOf: subscriptionLines,
  }),
);
