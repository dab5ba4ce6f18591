import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { itemBytes, MAX_ITEM_BYTES, recordToItem } from '../../lambdas/adapters/dynamodb-records.js';
import { BadRequestError } from '../../lambdas/domain/errors.js';
import {
  bodyHash,
  INGEST_LIMITS,
  parseEvents,
  parseIngestBody,
  validateServiceDrafts,
} from '../../lambdas/domain/event-schema.js';
import { lastIdAt } from '../../lambdas/domain/ids.js';
import { sealRecord } from '../../lambdas/domain/record.js';
import { batchWithOneBadEvent } from '../helpers/bad-events.js';

const refusal = (act: () => unknown): BadRequestError => {
  try {
    act();
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error('accepted');
};

const nested = (depth: number): unknown => {
  let value: unknown = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
};

describe('events the store could not take are refused by validation', () => {
  it('refuses every batch holding one bad event, naming the event and the field', () => {
    fc.assert(
      fc.property(batchWithOneBadEvent(), fc.boolean(), ({ body, index, bad }, overBus) => {
        const parsed = JSON.parse(body) as { events: unknown[] };
        const error = overBus
          ? refusal(() => parseEvents(parsed.events, { allowTimestamps: true, prefix: 'detail.events' }))
          : refusal(() => parseIngestBody(parsed, { allowTimestamps: false }));
        expect(error.message).toContain(`${overBus ? 'detail.events' : 'events'}[${index}].${bad.field}`);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('takes additional_information up to 32 levels deep, not 33', () => {
    const event = (depth: number) => ({
      events: [{ action_type: 'a', additional_information: nested(depth) }],
    });
    expect(
      parseIngestBody(event(INGEST_LIMITS.additionalInformationDepth), { allowTimestamps: false }),
    ).toHaveLength(1);
    expect(
      refusal(() =>
        parseIngestBody(event(INGEST_LIMITS.additionalInformationDepth + 1), { allowTimestamps: false }),
      ).message,
    ).toContain('events[0].additional_information must be at most 32 levels deep');
  });

  it('keeps the largest event validation accepts far under DynamoDB’s item limit', () => {
    // Prepare: every field at its limit, in the characters that cost the most once stored.
    const kilobyte = '\u{10FFFF}'.repeat(256); // 4 bytes each: 1 KB
    const escaped = '\u0001'.repeat(INGEST_LIMITS.stringBytes); // 6 bytes each once in JSON
    const queryParameters = Object.fromEntries(
      Array.from({ length: 2 }, (_, n) => [`${n}${'n'.repeat(1000)}`, escaped.slice(0, 1000)]),
    );
    const event = {
      action_type: 'a'.repeat(INGEST_LIMITS.actionTypeChars),
      timestamp: Date.UTC(2030, 0, 1),
      message: '\u{10FFFF}'.repeat(INGEST_LIMITS.messageBytes / 4),
      category: kilobyte,
      user: kilobyte,
      user_ip: kilobyte,
      user_browser_agent: kilobyte,
      user_browser_language: kilobyte,
      flock_id: kilobyte,
      additional_information: { blob: 'x'.repeat(INGEST_LIMITS.additionalInformationBytes - 20) },
      request: {
        uri: kilobyte,
        method: 'GET',
        status: 200,
        query_parameters: queryParameters,
        error: kilobyte,
      },
      api_key: { id: kilobyte, name: kilobyte },
    };
    const [draft] = parseIngestBody({ events: [event] }, { allowTimestamps: true });
    if (!draft) throw new Error('refused');

    // Act
    const record = sealRecord('t'.repeat(64), lastIdAt(event.timestamp), event.timestamp, draft);
    const bytes = itemBytes(recordToItem(record));

    // Assess
    expect(bytes).toBeLessThan(64 * 1024);
    expect(bytes).toBeLessThan(MAX_ITEM_BYTES);
  });

  it('checks the seed’s drafts by the same rules, api_request allowed', () => {
    expect(
      validateServiceDrafts([
        {
          action_type: 'api_request',
          request: { uri: '/', method: 'GET', status: 200, query_parameters: {} },
        },
      ]),
    ).toHaveLength(1);
    expect(
      refusal(() => validateServiceDrafts([{ action_type: 'a' }, { action_type: 'b', user: '\udc00' }]))
        .message,
    ).toContain('events[1].user must be well-formed Unicode');
  });

  it('answers a body without a canonical form with a 400, never a TypeError', () => {
    expect(refusal(() => bodyHash({ events: [{ action_type: 'a', message: '\ud800' }] })).field).toBe('body');
  });
});
