import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbIdempotencyStore } from '../../lambdas/adapters/dynamodb-idempotency-store.js';
import { timestampOfId } from '../../lambdas/domain/ids.js';
import { ingestEvents } from '../../lambdas/use-cases/ingest-events.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const EVENTS = '/api/v1/audit_trail/events';

interface IngestAnswer {
  result: string;
  ids?: number[];
  message?: string;
}

describe('POST /api/v1/audit_trail/events', () => {
  let service: TestService;
  let ingestToken: string;
  let adminToken: string;
  let readToken: string;

  const post = (body: unknown, headers: Record<string, string> = {}, token = ingestToken) =>
    service.request('POST', EVENTS, {
      headers: { 'content-type': 'application/json', 'x-api-key': token, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** Every entry of `tenant` that is not a self-audit record of an API call. */
  const storedEvents = async (tenant: string) => {
    const output = await service.services.doc.send(
      new QueryCommand({
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': tenant },
        ConsistentRead: true,
      }),
    );
    return (output.Items ?? []).filter((item) => item.action_type !== 'api_request');
  };

  beforeAll(async () => {
    service = await startTestService();
    ingestToken = await service.token('producer', ['ingest']);
    adminToken = await service.token('importer', ['admin']);
    readToken = await service.token('producer', ['read']);
  });
  afterAll(async () => service.stop());

  it('stores the events and answers 201 with their ids in order', async () => {
    // Prepare
    const events = [
      { action_type: 'user_login', user: 'ana@example.com', message: 'User ana logged in' },
      { action_type: 'flock.created', additional_information: { flock: 'datacenter', sensors: [1, 2] } },
      { action_type: 'user_logout', user: 'ana@example.com' },
    ];

    // Act
    const before = Date.now();
    const response = await post({ events });
    const after = Date.now();

    // Assess
    expect(response.status).toBe(201);
    const answer = response.body as IngestAnswer;
    expect(answer.result).toBe('success');
    expect(answer.ids).toHaveLength(3);
    const stored = await storedEvents('producer');
    const byId = new Map(stored.map((item) => [item.id as number, item]));
    answer.ids?.forEach((id, index) => {
      expect(byId.get(id)?.action_type).toBe(events[index]?.action_type);
      expect(timestampOfId(id)).toBeGreaterThanOrEqual(before);
      expect(timestampOfId(id)).toBeLessThanOrEqual(after);
    });
    expect(JSON.parse(String(byId.get(answer.ids?.[1] ?? 0)?.additional_information_json))).toEqual({
      flock: 'datacenter',
      sensors: [1, 2],
    });
  });

  it('stores request records whose query parameter names DynamoDB maps could not hold', async () => {
    // Prepare: an empty name (DynamoDB refuses it in a map) and `constructor` (the SDK's marshaller does).
    const event = {
      action_type: 'proxy_request',
      request: {
        uri: '/api/v1/things',
        method: 'GET',
        status: 200,
        query_parameters: { '': 'empty', constructor: 'c', 'page[size]': '10' },
      },
    };

    // Act
    const response = await post({ events: [event] });

    // Assess
    expect(response.status).toBe(201);
    const [id] = (response.body as IngestAnswer).ids ?? [];
    const page = await service.services.events.queryPage({
      tenant: 'producer',
      selector: { kind: 'all' },
      minId: id ?? 0,
      maxId: id ?? 0,
      newestFirst: true,
      limit: 1,
    });
    expect(page.records[0]?.request?.query_parameters).toEqual(event.request.query_parameters);
  });

  it('keeps explicit timestamps from an admin token (history import)', async () => {
    // Prepare
    const timestamp = Date.UTC(2024, 0, 2, 3, 4, 5, 6);

    // Act
    const response = await post({ events: [{ action_type: 'user_login', timestamp }] }, {}, adminToken);

    // Assess
    expect(response.status).toBe(201);
    const [id] = (response.body as IngestAnswer).ids ?? [];
    expect(timestampOfId(id ?? 0)).toBe(timestamp);
  });

  describe('rejects bad input with a 400 naming the field and writes nothing', () => {
    const cases: [string, () => unknown, string, string?][] = [
      ['no events', () => ({ events: [] }), 'events'],
      ['101 events', () => ({ events: Array.from({ length: 101 }, () => ({ action_type: 'a' })) }), 'events'],
      // A body over 1 MB is a 413, not a 400: test/integration/http-conformance.test.ts.
      ['invalid JSON', () => '{"events": [', 'body'],
      [
        'a wrong type',
        () => ({ events: [{ action_type: 'a' }, { action_type: 'b', user: 42 }] }),
        'events[1].user',
      ],
      [
        'an unknown action shape',
        () => ({ events: [{ action_type: 'a' }, { action_type: 'a' }, { action_type: 'log in!' }] }),
        'events[2].action_type',
      ],
      ['a missing action_type', () => ({ events: [{ message: 'x' }] }), 'events[0].action_type'],
      [
        'a reserved action_type',
        () => ({ events: [{ action_type: 'api_request' }] }),
        'events[0].action_type',
      ],
      ['an unknown field', () => ({ events: [{ action_type: 'a', colour: 'red' }] }), 'events[0].colour'],
      ['an unknown top-level field', () => ({ events: [{ action_type: 'a' }], extra: 1 }), 'extra'],
      [
        'a timestamp from a non-admin token',
        () => ({ events: [{ action_type: 'a' }, { action_type: 'a', timestamp: Date.now() }] }),
        'events[1].timestamp',
      ],
      [
        'an oversized string field',
        () => ({ events: [{ action_type: 'a', user: 'u'.repeat(1025) }] }),
        'events[0].user',
      ],
      [
        'an oversized message',
        () => ({ events: [{ action_type: 'a', message: 'm'.repeat(8 * 1024 + 1) }] }),
        'events[0].message',
      ],
      [
        'oversized additional_information',
        () => ({ events: [{ action_type: 'a', additional_information: { blob: 'b'.repeat(16 * 1024) } }] }),
        'events[0].additional_information',
      ],
      [
        'an action_type over 128 characters',
        () => ({ events: [{ action_type: 'a'.repeat(129) }] }),
        'events[0].action_type',
      ],
      ['events not an array', () => ({ events: { action_type: 'a' } }), 'events'],
      [
        'a bad Idempotency-Key',
        () => ({ events: [{ action_type: 'a' }] }),
        'Idempotency-Key',
        'k'.repeat(129),
      ],
    ];

    for (const [name, body, field, idempotencyKey] of cases) {
      it(name, async () => {
        // Prepare
        const before = (await storedEvents('producer')).length;

        // Act
        const response = await post(body(), idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});

        // Assess
        expect(response.status).toBe(400);
        const answer = response.body as IngestAnswer;
        expect(answer.result).toBe('error');
        expect(answer.message).toContain(field);
        expect((await storedEvents('producer')).length).toBe(before);
      });
    }

    it('an out-of-range admin timestamp', async () => {
      const response = await post(
        { events: [{ action_type: 'a', timestamp: 946684799999 }] },
        {},
        adminToken,
      );
      expect(response.status).toBe(400);
      expect((response.body as IngestAnswer).message).toContain('events[0].timestamp');
    });
  });

  it('refuses a token without the ingest scope with 403 in the canary shape', async () => {
    const response = await post({ events: [{ action_type: 'a' }] }, {}, readToken);
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ result: 'error', message: expect.stringContaining('ingest') });
  });

  describe('Idempotency-Key', () => {
    it('answers a retry with the first response and writes nothing twice', async () => {
      // Prepare
      const body = { events: [{ action_type: 'door.opened' }, { action_type: 'door.closed' }] };
      const headers = { 'idempotency-key': 'retry-1 with spaces' };

      // Act
      const first = await post(body, headers);
      const countAfterFirst = (await storedEvents('producer')).length;
      const second = await post(JSON.stringify(body, null, 2), headers);

      // Assess
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.body).toEqual(first.body);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect((await storedEvents('producer')).length).toBe(countAfterFirst);
    });

    it('answers 409 when the same key comes with another body', async () => {
      // Prepare
      const headers = { 'idempotency-key': 'conflict-1' };
      await post({ events: [{ action_type: 'a' }] }, headers);

      // Act
      const response = await post({ events: [{ action_type: 'b' }] }, headers);

      // Assess
      expect(response.status).toBe(409);
      expect(response.body).toEqual({ result: 'error', message: expect.stringContaining('Idempotency-Key') });
    });

    it('stores concurrent requests with the same key once and answers them all the same ids', async () => {
      // Prepare
      const body = { events: Array.from({ length: 60 }, (_, n) => ({ action_type: `burst.${n % 3}` })) };
      const before = (await storedEvents('producer')).length;

      // Act
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => post(body, { 'idempotency-key': 'burst-1' })),
      );

      // Assess
      for (const response of responses) expect(response.status).toBe(201);
      const ids = (responses[0]?.body as IngestAnswer | undefined)?.ids;
      for (const response of responses) expect((response.body as IngestAnswer).ids).toEqual(ids);
      expect((await storedEvents('producer')).length).toBe(before + 60);
    });

    it('forgets a key after 24 hours: the same key then stores the body again', async () => {
      // Prepare
      let now = Date.UTC(2026, 5, 1);
      const deps = {
        events: service.services.events,
        idempotency: new DynamoDbIdempotencyStore(service.services.doc, {
          controlTable: service.services.config.CONTROL_TABLE,
          clock: () => now,
        }),
      };
      const request = {
        tenant: 'expiry-tenant',
        drafts: [{ action_type: 'a' }],
        idempotency: { key: 'daily', bodyHash: 'h1' },
      };
      const first = await ingestEvents(deps, request);
      now += 24 * 3600 * 1000 - 1000;
      const withinDay = await ingestEvents(deps, request);

      // Act
      now += 2000;
      const afterDay = await ingestEvents(deps, request);

      // Assess
      expect(withinDay.ids).toEqual(first.ids);
      expect(afterDay.ids).not.toEqual(first.ids);
      expect(await storedEvents('expiry-tenant')).toHaveLength(2);
    });

    it('completes a request whose first attempt stored the events but not the response', async () => {
      // Prepare: the first attempt "crashed" after appending, before storing its response.
      const deps = { events: service.services.events, idempotency: service.services.idempotency };
      const claim = await deps.idempotency.claim('crash-tenant', 'crash-1', 'hash');
      const drafts = [{ action_type: 'x' }, { action_type: 'y' }];
      const ids = await deps.idempotency.assignIds(
        'crash-tenant',
        'crash-1',
        claim.claimId,
        await deps.events.reserveIds(drafts),
      );
      const appended = await deps.events.append('crash-tenant', drafts, { ids });

      // Act
      const retry = await ingestEvents(deps, {
        tenant: 'crash-tenant',
        drafts,
        idempotency: { key: 'crash-1', bodyHash: 'hash' },
      });

      // Assess
      expect(retry.ids).toEqual(appended.map((record) => record?.id));
      expect(await storedEvents('crash-tenant')).toHaveLength(2);
    });
  });
});
