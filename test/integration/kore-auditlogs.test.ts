import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MAX_ID } from '../../lambdas/domain/ids.js';
import { API_REQUEST_ACTION, type AuditRecord, type EventDraft } from '../../lambdas/domain/record.js';
import type { KoreAppRecord } from '../../lambdas/ports/kore-app-store.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { demoEvents } from '../../local/demo-data.js';
import { koreJwt, unsignedJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const PATH = '/api/public/auditlogs';

interface KorePage {
  total: number;
  auditlogs: {
    timestampValue: number;
    'Date/Time': string;
    Description: string;
    Name: string;
    Category: string;
    AuditLogId: string;
  }[];
  moreAvailable: boolean;
}

describe('GET /api/public/auditlogs (kore)', () => {
  let service: TestService;
  let app: KoreAppRecord;
  let otherApp: KoreAppRecord;
  let drafts: EventDraft[];
  let stored: { id: number; timestamp: number }[];
  let jwt: string;
  /** Calls made with `jwt`: self-audit files each one as an `api_request` entry of kore-acme. */
  let acmeCalls = 0;

  /** GET with the JWT in the `auth` header, as the seed's sample does; `null` sends none. */
  const get = async (query: Record<string, string>, token: string | null = jwt) => {
    if (token === jwt) acmeCalls += 1;
    return service.get(
      PATH,
      query,
      token === null ? {} : { auth: token, 'content-type': 'application/json' },
    );
  };
  /**
   * kore-acme's entries newer than the seeded ones (all seeded in 2021): the service's own records
   * of the calls made so far, checked to be exactly one `api_request` per call made with `jwt`.
   */
  const ownRecords = async (): Promise<AuditRecord[]> => {
    const { records } = await service.services.events.queryPage({
      tenant: 'kore-acme',
      selector: { kind: 'all' },
      minId: (stored.at(-1)?.id ?? MAX_ID) + 1,
      maxId: MAX_ID,
      newestFirst: false,
      limit: 1000,
    });
    expect(records).toHaveLength(acmeCalls);
    for (const record of records) {
      expect(record.action_type).toBe(API_REQUEST_ACTION);
      expect(record.request).toEqual(expect.objectContaining({ uri: PATH, method: 'GET', status: 200 }));
      expect(record.api_key?.id).toBe(app.appId);
    }
    return records;
  };
  const idsOf = (page: KorePage) => page.auditlogs.map((entry) => Number(entry.AuditLogId));
  const between = (start: number, end: number) =>
    stored.filter((entry) => entry.timestamp >= start && entry.timestamp <= end).map((entry) => entry.id);

  beforeAll(async () => {
    service = await startTestService({ settleBeforeRequests: true });
    app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'kore-acme', scopes: ['read'] },
      service.services.tenants,
    );
    otherApp = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'kore-other', scopes: ['read'] },
      service.services.tenants,
    );
    // Around the seed's sample window (2021-06-30 … 2021-07-07), so its request works verbatim.
    drafts = demoEvents({ count: 700, days: 8, now: Date.UTC(2021, 6, 8, 2, 30), seed: 7 });
    stored = [];
    for (let start = 0; start < drafts.length; start += 100) {
      const records = await service.services.events.append('kore-acme', drafts.slice(start, start + 100));
      for (const record of records) if (record) stored.push({ id: record.id, timestamp: record.timestamp });
    }
    stored.sort((a, b) => a.id - b.id);
    await service.services.events.append(
      'kore-other',
      demoEvents({ count: 20, days: 8, now: Date.UTC(2021, 6, 8) }),
    );
    jwt = await koreJwt(app.appId, app.clientSecret);
  });
  afterAll(async () => service.stop());

  it("answers the seed's sample request (fromDate after toDate) with that week, oldest first", async () => {
    // Prepare
    const expected = between(Date.parse('2021-06-30T11:11:18.469Z'), Date.parse('2021-07-07T11:11:18.464Z'));

    // Act
    const response = await get({
      size: '50',
      offset: '0',
      fromDate: '2021-07-07T11:11:18.464Z',
      toDate: '2021-06-30T11:11:18.469Z',
    });

    // Assess
    expect(response.status).toBe(200);
    const page = response.body as KorePage;
    expect(Object.keys(page)).toEqual(['total', 'auditlogs', 'moreAvailable']);
    expect(page.total).toBe(expected.length);
    expect(expected.length).toBeGreaterThan(100);
    expect(idsOf(page)).toEqual(expected.slice(0, 50));
    expect(page.moreAvailable).toBe(true);
    const first = page.auditlogs[0];
    expect(Object.keys(first ?? {})).toEqual([
      'timestampValue',
      'Date/Time',
      'Description',
      'Name',
      'Category',
      'AuditLogId',
    ]);
    expect(first?.['Date/Time']).toBe(new Date(first?.timestampValue ?? 0).toISOString());
    expect(typeof first?.AuditLogId).toBe('string');
  });

  it('walks every page of a range by offset: each entry once, in order, total constant', async () => {
    // Prepare
    const query = { fromDate: '2021-07-01T05:17:00.250Z', toDate: '2021-07-05T19:02:11.999Z', size: '37' };
    const expected = between(Date.parse(query.fromDate), Date.parse(query.toDate));

    // Act
    const seen: number[] = [];
    const totals = new Set<number>();
    let page: KorePage;
    let offset = 0;
    do {
      page = (await get({ ...query, offset: String(offset) })).body as KorePage;
      seen.push(...idsOf(page));
      totals.add(page.total);
      offset += 1;
    } while (page.moreAvailable && offset < 100);

    // Assess
    expect(seen).toEqual(expected);
    expect([...totals]).toEqual([expected.length]);
    expect(page.moreAvailable).toBe(false);
  });

  it('serves a deep page of the whole trail straight from the counters, its own api_request entries last', async () => {
    // Prepare
    const own = await ownRecords();

    // Act
    const page = (await get({ size: '100', offset: '5' })).body as KorePage;
    const last = (await get({ size: '100', offset: '7' })).body as KorePage;
    const past = (await get({ size: '100', offset: '8' })).body as KorePage;

    // Assess
    // The total counts everything in the trail: the 700 seeded entries, then one api_request
    // entry per call made so far, each written before its answer was sent.
    expect(page.total).toBe(700 + own.length);
    expect(idsOf(page)).toEqual(stored.slice(500, 600).map((entry) => entry.id));
    expect(page.moreAvailable).toBe(true);
    expect(last.total).toBe(700 + own.length + 1);
    // Offset 7 holds the service's own records: those read above, then the one of the offset 5 call.
    const ownNow = await ownRecords();
    expect(idsOf(last)).toEqual(ownNow.slice(0, own.length + 1).map((record) => record.id));
    expect(last.auditlogs.every((entry) => entry.Name === 'API request' && entry.Category === 'API')).toBe(
      true,
    );
    expect(last.moreAvailable).toBe(false);
    expect(past).toEqual({ total: 700 + own.length + 2, auditlogs: [], moreAvailable: false });
  });

  it('reads only entries after fetchAfter', async () => {
    // Prepare
    const after = stored[650]?.id ?? 0;

    // Act
    const seededOnly = (await get({ fetchAfter: String(after), toDate: '2021-07-08' })).body as KorePage;
    const own = await ownRecords();
    const everything = (await get({ fetchAfter: String(after), size: '100' })).body as KorePage;

    // Assess
    // Up to the seeded data's last day: exactly the 49 seeded entries after `after`.
    expect(seededOnly.total).toBe(49);
    expect(idsOf(seededOnly)).toEqual(stored.slice(651, 700).map((entry) => entry.id));
    expect(seededOnly.moreAvailable).toBe(false);
    // Without a date: those 49, then the service's own record of every call made before this one.
    expect(everything.total).toBe(49 + own.length);
    expect(idsOf(everything)).toEqual([
      ...stored.slice(651, 700).map((entry) => entry.id),
      ...own.map((record) => record.id),
    ]);
    expect(everything.moreAvailable).toBe(false);
  });

  it('lets a bare-date toDate cover its whole day and a bare fromDate start at midnight', async () => {
    // Prepare
    const expected = between(Date.UTC(2021, 6, 2), Date.UTC(2021, 6, 3) + 86_399_999);

    // Act
    const page = (await get({ fromDate: '2021-07-02', toDate: '2021-07-03', size: '100' })).body as KorePage;
    const swapped = (await get({ fromDate: '2021-07-03', toDate: '2021-07-02', size: '100' }))
      .body as KorePage;

    // Assess
    expect(page.total).toBe(expected.length);
    expect(idsOf(page)).toEqual(expected.slice(0, 100));
    expect(swapped).toEqual(page);
  });

  it("never shows another tenant's entries", async () => {
    // Act
    const page = (await get({ size: '100' }, await koreJwt(otherApp.appId, otherApp.clientSecret)))
      .body as KorePage;

    // Assess
    expect(page.total).toBe(20);
    expect(idsOf(page).some((id) => stored.some((entry) => entry.id === id))).toBe(false);
  });

  describe('refuses bad credentials with 401 in the kore error shape', () => {
    const cases: [string, () => Promise<string | null>][] = [
      ['a missing JWT', async () => null],
      ['a garbage JWT', async () => 'not-a-jwt'],
      [
        'an expired JWT',
        async () => koreJwt(app.appId, app.clientSecret, { expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
      ],
      [
        'an alg: none JWT',
        async () => unsignedJwt({ appId: app.appId, exp: Math.floor(Date.now() / 1000) + 300 }),
      ],
      ['a JWT signed by another app', async () => koreJwt(app.appId, otherApp.clientSecret)],
      ['a JWT signed with HS512', async () => koreJwt(app.appId, app.clientSecret, { alg: 'HS512' })],
      ['a JWT for an unknown app', async () => koreJwt('cs-00000000-unknown-app', app.clientSecret)],
      ['a JWT without exp', async () => koreJwt(app.appId, app.clientSecret, { expiresIn: null })],
      [
        'a JWT issued an hour in the future',
        async () =>
          koreJwt(app.appId, app.clientSecret, {
            issuedAt: Math.floor(Date.now() / 1000) + 3600,
            expiresIn: '2h',
          }),
      ],
    ];
    it.each(cases)('%s', async (_name, makeToken) => {
      // Act
      const response = await get({ size: '5' }, await makeToken());

      // Assess
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ errors: [{ msg: expect.any(String), code: 401 }] });
    });
  });

  it('names the auth header when no credential is sent', async () => {
    // Act
    const response = await get({ size: '5' }, null);

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      errors: [{ msg: 'No credentials were provided: send a JWT in the auth header', code: 401 }],
    });
  });

  it('refuses an app without the read scope with 403', async () => {
    // Prepare
    const writer = await registerKoreApp(
      service.services.koreApps,
      {
        tenant: 'kore-acme',
        scopes: ['ingest'],
      },
      service.services.tenants,
    );

    // Act
    const response = await get({}, await koreJwt(writer.appId, writer.clientSecret));

    // Assess
    expect(response.status).toBe(403);
    expect(response.body).toEqual({ errors: [{ msg: expect.stringContaining('read'), code: 403 }] });
  });

  describe('refuses bad parameters with 400 in the kore error shape', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['size 0', { size: '0' }, 'size'],
      ['size 101', { size: '101' }, 'size'],
      ['size abc', { size: 'abc' }, 'size'],
      ['offset -1', { offset: '-1' }, 'offset'],
      ['a fromDate that is no date', { fromDate: 'yesterday' }, 'fromDate'],
      ['a toDate that does not exist', { toDate: '2021-02-30' }, 'toDate'],
      ['a toDate with a bad time', { toDate: '2021-06-30T25:11:18.469Z' }, 'toDate'],
      ['a fetchAfter that is no id', { fetchAfter: '5e10c62ce0e2f05f0548048' }, 'fetchAfter'],
    ];
    it.each(cases)('%s', async (_name, query, field) => {
      // Act
      const response = await get(query);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ errors: [{ msg: expect.stringContaining(field), code: 400 }] });
    });
  });
});
