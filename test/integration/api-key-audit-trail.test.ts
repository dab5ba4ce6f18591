import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../../lambdas/domain/record.js';
import { SELF_AUDIT_CATEGORY } from '../../lambdas/http/self-audit.js';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import { API_KEYS, apiRequestEvents } from '../helpers/api-request-events.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const PATH = '/api/v1/audit-trail';

interface ApiKeyPage {
  data: {
    id: string;
    uri?: string;
    method?: string;
    sourceIp?: string;
    meta: { status?: string; service?: string; queryParameters?: Record<string, string>; error?: string };
    userApiKey?: { id: string; name: string };
    createdAt: string;
  }[];
  links: { self: string; next: string | null };
}

const cursorOf = (link: string | null): string =>
  new URL(link ?? '', 'http://x').searchParams.get('page[cursor]') ?? '';

describe('GET /api/v1/audit-trail (api-key)', () => {
  let service: TestService;
  let key: string;
  let stored: AuditRecord[];

  const get = (query: Record<string, string>, apiKey: string | null = key) =>
    service.get(PATH, query, apiKey === null ? {} : { 'x-api-key': apiKey });
  const idsIn = (start: string, end: string, actor?: string) =>
    stored
      .filter((record) => record.timestamp >= Date.parse(`${start}T00:00:00.000Z`))
      .filter((record) => record.timestamp <= Date.parse(`${end}T23:59:59.999Z`))
      // An API request log: only the entries that record an API call.
      .filter((record) => record.request !== undefined)
      .filter((record) => actor === undefined || (record.user ?? record.api_key?.id) === actor)
      .map((record) => String(record.id));

  beforeAll(async () => {
    service = await startTestService();
    key = await service.token('ak-acme', ['read']);
    const now = Date.UTC(2023, 11, 3, 12);
    const drafts = [
      ...apiRequestEvents({ count: 400, days: 40, now }),
      ...demoEvents({ count: 200, days: 40, now, seed: 11 }),
    ];
    stored = [];
    for (let start = 0; start < drafts.length; start += 100) {
      for (const record of await service.services.events.append('ak-acme', drafts.slice(start, start + 100)))
        if (record) stored.push(record);
    }
    stored.sort((a, b) => a.id - b.id);
  });
  afterAll(async () => service.stop());

  it("answers the seed's example query, oldest first, with the seed's fields", async () => {
    // Prepare
    const expected = idsIn('2023-11-01', '2023-12-01');

    // Act
    const response = await get({
      'filter[startDate]': '2023-11-01',
      'filter[endDate]': '2023-12-01',
      'page[size]': '12000',
    });

    // Assess
    expect(response.status).toBe(200);
    const page = response.body as ApiKeyPage;
    expect(page.data.map((entry) => entry.id)).toEqual(expected);
    expect(page.links).toEqual({
      self: '/api/v1/audit-trail?filter[startDate]=2023-11-01&filter[endDate]=2023-12-01&page[size]=12000',
      next: null,
    });
    const request = page.data.find((entry) => entry.uri !== undefined);
    expect(Object.keys(request ?? {})).toEqual([
      'id',
      'uri',
      'method',
      'sourceIp',
      'meta',
      'userApiKey',
      'createdAt',
    ]);
    expect(request?.meta.status).toMatch(/^\d{3}$/);
    expect(request?.meta.queryParameters).toEqual({ 'page[size]': expect.any(String) });
    expect(request?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('pages with page[cursor] through links.next until it is null: each entry once', async () => {
    // Prepare
    const expected = idsIn('2023-11-10', '2023-11-30');

    // Act
    const seen: string[] = [];
    let page = (
      await get({ 'filter[startDate]': '2023-11-10', 'filter[endDate]': '2023-11-30', 'page[size]': '45' })
    ).body as ApiKeyPage;
    seen.push(...page.data.map((entry) => entry.id));
    let pages = 1;
    while (page.links.next) {
      const next = await service.get(page.links.next, {}, { 'x-api-key': key });
      page = next.body as ApiKeyPage;
      seen.push(...page.data.map((entry) => entry.id));
      pages += 1;
    }

    // Assess
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 45));
  });

  it('filters by filter[userApiKey._id] through the actor index', async () => {
    // Prepare
    const actor = API_KEYS[1]?.id ?? '';
    const expected = idsIn('2023-10-01', '2023-12-31', actor);

    // Act
    const page = (await get({ 'filter[userApiKey._id]': actor })).body as ApiKeyPage;

    // Assess
    expect(expected.length).toBeGreaterThan(50);
    expect(page.data.map((entry) => entry.id)).toEqual(expected);
    expect(
      page.data.every((entry) => entry.userApiKey?.id === actor && entry.userApiKey.name === 'Reporting'),
    ).toBe(true);
  });

  it('lists only API calls, read through an index that holds nothing else', async () => {
    // Prepare: console actions (with a user, no request) are interleaved with the API calls.
    const consoleUser = stored.find((record) => record.request === undefined && record.user)?.user ?? '';
    const apiCalls = stored.filter((record) => record.request !== undefined);

    // Act
    const all = (await get({})).body as ApiKeyPage;
    const byConsoleUser = (await get({ 'filter[userApiKey._id]': consoleUser })).body as ApiKeyPage;
    const direct = await service.services.events.queryPage({
      tenant: 'ak-acme',
      selector: { kind: 'apiCalls' },
      minId: 0,
      maxId: Number.MAX_SAFE_INTEGER,
      newestFirst: false,
      limit: 101,
    });

    // Assess: every item is a whole request record; none is read and dropped.
    expect(consoleUser).not.toBe('');
    expect(all.data.filter((entry) => entry.uri === undefined || entry.method === undefined)).toEqual([]);
    // The seeded API calls, then the service's own records of this file's calls (API calls too).
    expect(all.data.slice(0, apiCalls.length).map((entry) => entry.id)).toEqual(
      apiCalls.map((record) => String(record.id)),
    );
    expect(all.data.slice(apiCalls.length).every((entry) => entry.meta.service === 'Audit trail')).toBe(true);
    expect(byConsoleUser.data).toEqual([]);
    expect(direct.records).toHaveLength(101);
    expect(direct.itemsRead).toBe(101);
  });

  it('answers 413 in the seed shape when the page is over 1 MB', async () => {
    // Prepare
    const big = await service.token('ak-big', ['read']);
    const drafts = apiRequestEvents({ count: 4000, days: 2, now: Date.UTC(2024, 0, 2), seed: 9 });
    const { EVENTS_TABLE: eventsTable } = service.services.config;
    const seeded = await bulkWrite(service.services.doc, { eventsTable }, 'ak-big', drafts);
    await service.settle();
    const seededIds = seeded.map((record) => record.id).sort((a, b) => a - b);

    // Act
    const refused = await get({}, big);
    const redirected = await get({ allowRedirect: 'true' }, big);
    const small = await get({ 'page[size]': '100', allowRedirect: 'true' }, big);

    // Assess
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({
      message: 'Response size is greater than 1MB',
      name: 'PayloadTooLarge',
      status: 413,
    });
    expect(redirected.status).toBe(303);
    const location = redirected.headers.get('location') ?? '';
    expect(redirected.body).toEqual({ data: { url: location } });
    expect(new URL(location).searchParams.get('X-Amz-Expires')).toBe('300');
    const parked = (await (await fetch(location)).json()) as ApiKeyPage;
    // The api-key view lists every entry of the tenant: the 4000 seeded ones, oldest first, then
    // the service's own api_request record of the refused call (written before the 413 was sent).
    expect(parked.data).toHaveLength(4001);
    expect(parked.data.slice(0, 4000).map((entry) => entry.id)).toEqual(seededIds.map(String));
    expect(parked.data[4000]).toEqual({
      id: expect.any(String),
      uri: PATH,
      method: 'GET',
      sourceIp: expect.any(String),
      meta: {
        status: '413',
        service: SELF_AUDIT_CATEGORY,
        queryParameters: {},
        error: 'Response size is greater than 1MB',
      },
      userApiKey: { id: expect.any(String), name: expect.any(String) },
      createdAt: expect.any(String),
    });
    expect(Number(parked.data[4000]?.id)).toBeGreaterThan(seededIds.at(-1) ?? Number.MAX_SAFE_INTEGER);
    expect(parked.links.next).toBeNull();
    expect(small.status).toBe(200);
    expect((small.body as ApiKeyPage).data).toHaveLength(100);
  });

  it('answers 401 with the seed body for a missing or unknown key', async () => {
    // Act
    const missing = await get({}, null);
    const unknown = await get({}, 'ats_this-key-was-never-issued-to-anyone');

    // Assess
    for (const response of [missing, unknown]) {
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ message: 'Invalid token', name: 'Unauthorized', status: 401 });
    }
  });

  describe('refuses bad parameters with 400 in the seed shape, one error per parameter', () => {
    const cases: [string, Record<string, string>, string[]][] = [
      ['a start date not in iso format', { 'filter[startDate]': '01/11/2023' }, ['filter[startDate]']],
      ['an end date that does not exist', { 'filter[endDate]': '2023-02-30' }, ['filter[endDate]']],
      ['page[size] 0', { 'page[size]': '0' }, ['page[size]']],
      ['page[size] 30001', { 'page[size]': '30001' }, ['page[size]']],
      ['a bad cursor', { 'page[cursor]': '5e94d5b63f557b001420bbe3' }, ['page[cursor]']],
      ['an unknown filter', { 'filter[foo]': 'bar' }, ['filter[foo]']],
      ['allowRedirect that is no boolean', { allowRedirect: 'yes' }, ['allowRedirect']],
      [
        'several at once',
        { 'filter[startDate]': 'x', 'page[size]': '-5', 'filter[foo]': '1', sort: 'id' },
        ['filter[foo]', 'sort', 'filter[startDate]', 'page[size]'],
      ],
    ];
    it.each(cases)('%s', async (_name, query, fields) => {
      // Act
      const response = await get(query);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        message: { errors: fields.map((field) => ({ field, message: expect.stringContaining(field) })) },
        name: 'BadRequest',
        status: 400,
      });
    });
  });

  it('refuses a cursor reused with other filters', async () => {
    // Prepare
    const first = (await get({ 'filter[startDate]': '2023-11-01', 'page[size]': '10' })).body as ApiKeyPage;

    // Act
    const response = await get({
      'filter[startDate]': '2023-11-02',
      'page[cursor]': cursorOf(first.links.next),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('other filters');
  });
});
