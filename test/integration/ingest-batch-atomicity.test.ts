import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { UnstorableEventError } from '../../lambdas/domain/errors.js';
import { handler as ingestQueue } from '../../lambdas/handlers/ingest-queue.js';
import { batchWithOneBadEvent } from '../helpers/bad-events.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { allEntries, counterMismatches } from '../helpers/purge-fixtures.js';
import { busEvent, sqsRecord } from '../helpers/sqs-events.js';

const EVENTS = '/api/v1/audit_trail/events';
/** Every action type the generated events use, good and bad. */
const ACTIONS = [
  'user_login',
  'user_logout',
  'flock.created',
  'invoice.paid',
  'door.opened',
  'key.used',
  'proxy',
  'meter.read',
  'deep',
];

/**
 * A batch is stored whole or not at all: an event the store could not take is refused by
 * validation with a 400 naming it, before anything of the batch is written.
 */
describe('Ingest: a batch with one bad event stores nothing', () => {
  let service: TestService;
  let token: string;

  const post = (body: string, headers: Record<string, string> = {}) =>
    service.request('POST', EVENTS, {
      headers: { 'content-type': 'application/json', 'x-api-key': token, ...headers },
      body,
    });

  /** Entries of `tenant` other than the service's records of its own API calls. */
  const producerEntries = async (tenant: string) =>
    (await allEntries(service.services, tenant)).filter((entry) => entry.action_type !== 'api_request');

  /** Counters of the actions a test sends, which must stay at zero when nothing is stored. */
  const actionCounters = async (tenant: string) => {
    // Derived behind the answers: a zero read before the consumer caught up would prove nothing.
    await service.settle();
    return Promise.all(
      ACTIONS.map((action) => service.services.counters.total(tenant, { kind: 'action', action })),
    );
  };

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('atomic', ['ingest']);
  });
  afterAll(async () => service.stop());

  it('answers 400 naming the event and field, with or without an Idempotency-Key, and writes nothing', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(batchWithOneBadEvent(), fc.boolean(), async ({ body, index, bad }, withKey) => {
        run += 1;
        // Act
        const response = await post(body, withKey ? { 'idempotency-key': `atomic-${run}` } : {});

        // Assess (the response was checked against openapi.json by the harness)
        expect(response.status).toBe(400);
        expect(response.body).toEqual({
          result: 'error',
          message: expect.stringContaining(`events[${index}].${bad.field}`),
        });
        expect(await producerEntries('atomic')).toEqual([]);
      }),
      { numRuns: 60, seed: 20261130 },
    );
    // Counters are exact: only the service's records of the calls themselves were counted.
    expect(await counterMismatches(service.services, 'atomic')).toEqual([]);
    expect(await actionCounters('atomic')).toEqual(ACTIONS.map(() => 0));
  }, 300_000);

  it('stores the same batch once the bad event is fixed, under the Idempotency-Key the refused one used', async () => {
    // Prepare
    const [sample] = fc.sample(batchWithOneBadEvent(50), {
      numRuns: 1,
      seed: 7,
    });
    if (!sample) throw new Error('no sample');
    const refused = await post(sample.body, { 'idempotency-key': 'fix-and-retry' });

    // Act
    const fixed = `{"events":[${[...sample.good.slice(0, sample.index), '{"action_type":"door.opened"}', ...sample.good.slice(sample.index)].join(',')}]}`;
    const stored = await post(fixed, { 'idempotency-key': 'fix-and-retry' });

    // Assess
    expect(refused.status).toBe(400);
    expect(stored.status).toBe(201);
    expect((stored.body as { ids: number[] }).ids).toHaveLength(sample.good.length + 1);
    expect(await producerEntries('atomic')).toHaveLength(sample.good.length + 1);
    expect(await counterMismatches(service.services, 'atomic')).toEqual([]);
  });

  it('refuses a draft the store cannot hold before writing any of the batch (event store, any writer)', async () => {
    // Prepare: a draft no validation saw, whose entry would exceed DynamoDB's 400 KB.
    const drafts = Array.from({ length: 100 }, (_, n) => ({ action_type: `bulk.${n % 4}` }));
    drafts[70] = { action_type: 'bulk.big', message: 'm'.repeat(420 * 1024) } as (typeof drafts)[number];

    // Act
    const appended = service.services.events.append('store-guard', drafts);

    // Assess
    await expect(appended).rejects.toBeInstanceOf(UnstorableEventError);
    await expect(appended).rejects.toThrow('events[70]');
    expect(await allEntries(service.services, 'store-guard')).toEqual([]);
    await service.settle();
    expect(await service.services.counters.total('store-guard', { kind: 'all' })).toBe(0);
  });

  it('refuses a draft that cannot be sealed before writing any of the batch (event store, any writer)', async () => {
    // Prepare: an unpaired surrogate RFC 8785 refuses, in a batch that spans several transactions.
    const drafts = Array.from({ length: 100 }, (_, n) => ({
      action_type: `bulk.${n % 4}`,
      user: `user-${n}`,
      additional_information: { n },
    }));
    drafts[95] = {
      ...drafts[95],
      additional_information: { n: 95, note: 'bad \ud800 value' },
    } as (typeof drafts)[number];

    // Act
    const appended = service.services.events.append('store-guard-2', drafts);

    // Assess
    await expect(appended).rejects.toThrow(
      'events[95].additional_information.note must be well-formed Unicode',
    );
    expect(await allEntries(service.services, 'store-guard-2')).toEqual([]);
    await service.settle();
    expect(await service.services.counters.total('store-guard-2', { kind: 'all' })).toBe(0);
  });

  it('EventBridge: reports the message with a bad event as failed and stores none of it', async () => {
    // Prepare
    const [sample] = fc.sample(batchWithOneBadEvent(60), {
      numRuns: 1,
      seed: 11,
    });
    if (!sample) throw new Error('no sample');
    // The producer's JSON text as it is (JSON.stringify could not write some bad values, like 1e400).
    const bad = sqsRecord(
      `{"id":"eb-sample-1","source":"com.example","detail-type":"Audit events","detail":{"tenant":"queue-bad",${sample.body.slice(1)}}`,
    );
    const badRaw = sqsRecord(
      `{"id":"eb-raw-1","source":"com.example","detail-type":"Audit events","detail":{"tenant":"queue-bad","events":[{"action_type":"ok"},{"action_type":"meter.read","additional_information":{"n":1e400}}]}}`,
    );
    // The EventBridge id is part of each event's stored dedupe key.
    const badId = sqsRecord(
      `{"id":"eb-\\udc00","source":"com.example","detail-type":"Audit events","detail":{"tenant":"queue-bad","events":[{"action_type":"ok"}]}}`,
    );
    const good = sqsRecord(busEvent('queue-good', [{ action_type: 'invoice.paid' }]));

    // Act
    const result = await ingestQueue({ Records: [bad, badRaw, badId, good] });

    // Assess
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      [bad.messageId, badRaw.messageId, badId.messageId].sort(),
    );
    expect(await allEntries(service.services, 'queue-bad')).toEqual([]);
    await service.settle();
    expect(await service.services.counters.total('queue-bad', { kind: 'all' })).toBe(0);
    expect(await allEntries(service.services, 'queue-good')).toHaveLength(1);
  });
});
