import { hash as oneShotHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { type IngestQueueDependencies, ingestQueueDependencies } from '../composition/ingest-queue.js';
import { BadRequestError, isAuditTrailError, UnstorableEventError } from '../domain/errors.js';
import { isWellFormed, parseEvents } from '../domain/event-schema.js';
import { createRedactor } from '../domain/redaction.js';
import { isValidTenant } from '../domain/tokens.js';
import * as z from '../domain/zod.js';
import type { DependenciesProvider } from '../http/context.js';
import { internalIdempotencyKey } from '../ports/idempotency-store.js';
import { appendOnce } from '../use-cases/ingest-events.js';
import { registerTenant } from '../use-cases/register-tenant.js';

/**
 * The EventBridge envelope a bus rule delivers to SQS. The tenant comes from the detail: only
 * producers inside the AWS account, authorised by IAM to put events on this bus, can send these.
 */
const envelope = z.object({
  // Part of every event's dedupe key (a stored key): it must have a UTF-8 form.
  id: z
    .string()
    .check(z.minLength(1), z.maxLength(128), z.refine(isWellFormed, 'must be well-formed Unicode')),
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  'detail-type': z.string().check(z.maxLength(256)),
  detail: z.object({
    tenant: z.string().check(z.refine(isValidTenant, 'must be 3-64 letters, digits, ".", "_" or "-"')),
    events: z.unknown(),
  }),
});

/** Validates one message; throws BadRequestError naming the field for a poison message. */
const parseMessage = (record: SQSRecord) => {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new BadRequestError('body is not valid JSON', { field: 'body' });
  }
  const parsed = envelope.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new BadRequestError(`${field} ${issue?.message ?? 'is invalid'}`, { field });
  }
  const { id, detail } = parsed.data;
  // Producers inside the account are trusted with their own timestamps (replays, imports).
  const drafts = parseEvents(detail.events, { allowTimestamps: true, prefix: 'detail.events' });
  return { eventId: id, tenant: detail.tenant, drafts };
};

/** How long an EventBridge event's claim lives: past SQS's longest retention. */
const EVENTBRIDGE_CLAIM_SECONDS = 15 * 86_400;

/** Tenants this container has registered already (registering is idempotent; this saves the write). */
const registered = new Set<string>();

const processMessage = async (services: IngestQueueDependencies, record: SQSRecord): Promise<void> => {
  const { eventId, tenant, drafts } = parseMessage(record);
  // Events can name a tenant no token was ever issued for: it must still get retention.
  if (!registered.has(`${services.registry}/${tenant}`)) {
    await registerTenant(services.tenants, tenant, services.clock());
    registered.add(`${services.registry}/${tenant}`);
  }
  // Claimed under the EventBridge event id: a redelivered message (or a bus retry) is stored once.
  try {
    await appendOnce(
      { events: services.events, idempotency: services.idempotency },
      tenant,
      drafts,
      {
        key: internalIdempotencyKey('eventbridge', eventId),
        bodyHash: oneShotHash('sha256', JSON.stringify(drafts), 'hex'),
      },
      false,
      // Longer than SQS keeps any message (14 days at most), so every redelivery finds the claim.
      { lifetimeSeconds: EVENTBRIDGE_CLAIM_SECONDS },
    );
  } catch (error) {
    // Refused before anything of the message was written; name the event as the producer sent it.
    if (error instanceof UnstorableEventError) {
      throw new BadRequestError(`detail.${error.message}`, {
        field: `detail.${error.field}`,
        cause: error,
      });
    }
    throw error;
  }
};

/**
 * Consumes SQS batches of EventBridge events (`{id, source, detail-type, detail:{tenant,
 * events:[…]}}`) and reports only the failed messages in `batchItemFailures`, so SQS retries just
 * those. A poison message (invalid JSON or events) is reported as failed too, so it reaches the
 * dead-letter queue after the queue's maxReceiveCount instead of being dropped silently.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<IngestQueueDependencies>) =>
  async (event: SQSEvent, _context?: unknown): Promise<SQSBatchResponse> => {
    const services = await dependencies();
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    await Promise.all(
      event.Records.map(async (record) => {
        try {
          await processMessage(services, record);
        } catch (error) {
          failures.push({ itemIdentifier: record.messageId });
          // The message id and what was wrong (field names, never the events' content).
          log.warn('ingest message failed', {
            messageId: record.messageId,
            receiveCount: record.attributes?.ApproximateReceiveCount,
            // A field name is the producer's: one shaped like a credential is redacted like in records.
            error: isAuditTrailError(error)
              ? createRedactor().text(error.message)
              : error instanceof Error
                ? error.name
                : 'unknown',
          });
        }
      }),
    );
    return { batchItemFailures: failures };
  };

export const handler = withRequestLog(makeHandler(() => ingestQueueDependencies(environmentConfig())));
