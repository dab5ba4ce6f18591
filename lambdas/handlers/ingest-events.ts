import { environmentConfig } from '../composition/environment.js';
import { type IngestEventsEndpointDependencies, ingestEventsDependencies } from '../composition/http.js';
import { BadRequestError } from '../domain/errors.js';
import { bodyHash, IDEMPOTENCY_KEY_PATTERN, INGEST_LIMITS, parseIngestBody } from '../domain/event-schema.js';
import { hasScope } from '../domain/scopes.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { isJsonMediaType, jsonBody, lowerCaseHeaders, requireMediaType } from '../http/request.js';
import { ingestEvents } from '../use-cases/ingest-events.js';

/**
 * `POST /api/v1/audit_trail/events` (scope `ingest`): stores 1–100 events (a JSON body ≤ 1 MB:
 * else 415 or 413) and
 * answers 201 `{result:"success", ids:[…]}`, the ids in the order of the events. Any invalid event
 * fails the whole request with a 400 naming the field; nothing is written. An `Idempotency-Key`
 * header makes retries answer the first response without writing anything twice (see
 * docs/ingest.md).
 */
export const makeHandler = (dependencies: DependenciesProvider<IngestEventsEndpointDependencies>) =>
  httpHandler({ dialect: 'canary', scope: 'ingest' }, dependencies, async (event, context, deps) => {
    const principal = principalOf(context);
    const idempotencyKey = lowerCaseHeaders(event)['idempotency-key'];
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new BadRequestError('Idempotency-Key must be 1-128 printable ASCII characters', {
        field: 'Idempotency-Key',
      });
    }
    // A strict JSON endpoint: text/plain and form bodies (which browsers send cross-site without a
    // preflight) are refused, not parsed as JSON. Past the size limit: 413 (jsonBody).
    requireMediaType(event, isJsonMediaType, 'application/json');
    const body = jsonBody(event, INGEST_LIMITS.maxBodyBytes);
    const drafts = parseIngestBody(body, { allowTimestamps: hasScope(principal, 'admin') });
    const result = await ingestEvents(deps.ingest, {
      tenant: principal.tenant,
      drafts,
      ...(idempotencyKey !== undefined
        ? { idempotency: { key: idempotencyKey, bodyHash: bodyHash(body) } }
        : {}),
    });
    return jsonResponse(
      201,
      { result: 'success', ids: result.ids },
      result.replayed ? { 'idempotent-replayed': 'true' } : {},
    );
  });

export const handler = makeHandler(() => ingestEventsDependencies(environmentConfig()));
