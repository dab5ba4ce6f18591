import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { timestampOfId } from '../../lambdas/domain/ids.js';
import { formatCanaryUtc } from '../../lambdas/domain/time.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { demoEvents } from '../../local/demo-data.js';
import { apiRequestEvents } from '../helpers/api-request-events.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

interface CanaryPage {
  audit_trail: { id: number; timestamp: string; action_type: string }[];
  cursor: { next: string | null };
}
interface KorePage {
  auditlogs: { AuditLogId: string; 'Date/Time': string; timestampValue: number }[];
  total: number;
  moreAvailable: boolean;
}
interface ApiKeyPage {
  data: { id: string; createdAt: string }[];
  links: { next: string | null };
}

describe('the three dialects', () => {
  let service: TestService;
  let token: string;
  let jwt: string;
  const start = Date.UTC(2023, 10, 1);
  const end = Date.UTC(2023, 10, 30, 23, 59, 59, 999);

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('agree', ['read']);
    const app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'agree', scopes: ['read'] },
      service.services.tenants,
    );
    jwt = await koreJwt(app.appId, app.clientSecret);
    // Console actions and API calls from late October to early December: the range cuts both ends.
    const now = Date.UTC(2023, 11, 5);
    const drafts = [
      ...demoEvents({ count: 250, days: 41, now, seed: 5 }),
      ...apiRequestEvents({ count: 150, days: 41, now, seed: 6 }),
    ];
    for (let index = 0; index < drafts.length; index += 100)
      await service.services.events.append('agree', drafts.slice(index, index + 100));
  });
  afterAll(async () => service.stop());

  it('return the same entries for one tenant and one date range, each in its own shape', async () => {
    // Act: canary has no date filter, so walk it all and keep the range (ids encode their time).
    const canary = new Map<number, string>();
    const apiCalls = new Set<number>();
    let canaryPage = (await service.get('/api/v1/audit_trail/fetch', { auth_token: token, limit: '1000' }))
      .body as CanaryPage;
    for (;;) {
      for (const entry of canaryPage.audit_trail) {
        canary.set(entry.id, entry.timestamp);
        if (entry.action_type === 'api_request') apiCalls.add(entry.id);
      }
      if (!canaryPage.cursor.next) break;
      canaryPage = (
        await service.get('/api/v1/audit_trail/fetch', { auth_token: token, cursor: canaryPage.cursor.next })
      ).body as CanaryPage;
    }
    const kore = new Map<number, KorePage['auditlogs'][number]>();
    let koreTotal = 0;
    for (let offset = 0; ; offset += 1) {
      const page = (
        await service.get(
          '/api/public/auditlogs',
          { fromDate: '2023-11-01', toDate: '2023-11-30', size: '100', offset: String(offset) },
          { auth: jwt },
        )
      ).body as KorePage;
      for (const entry of page.auditlogs) kore.set(Number(entry.AuditLogId), entry);
      koreTotal = page.total;
      if (!page.moreAvailable) break;
    }
    const apiKey = new Map<number, string>();
    let link: string | null =
      '/api/v1/audit-trail?filter[startDate]=2023-11-01&filter[endDate]=2023-11-30&page[size]=70';
    while (link) {
      const page: ApiKeyPage = (await service.get(link, {}, { 'x-api-key': token })).body as ApiKeyPage;
      for (const entry of page.data) apiKey.set(Number(entry.id), entry.createdAt);
      link = page.links.next;
    }

    // Assess
    const inRange = [...canary.keys()]
      .filter((id) => timestampOfId(id) >= start && timestampOfId(id) <= end)
      .sort((a, b) => a - b);
    expect(inRange.length).toBeGreaterThan(200);
    expect(inRange.length).toBeLessThan(canary.size);
    expect([...kore.keys()].sort((a, b) => a - b)).toEqual(inRange);
    // The api-key dialect is an API request log: the same range's API-call entries, and only those.
    const inRangeApiCalls = inRange.filter((id) => apiCalls.has(id));
    expect(inRangeApiCalls.length).toBeGreaterThan(50);
    expect([...apiKey.keys()].sort((a, b) => a - b)).toEqual(inRangeApiCalls);
    expect(koreTotal).toBe(inRange.length);
    for (const id of inRange) {
      const koreEntry = kore.get(id);
      if (apiCalls.has(id)) expect(apiKey.get(id)).toBe(koreEntry?.['Date/Time']);
      expect(canary.get(id)).toBe(formatCanaryUtc(koreEntry?.timestampValue ?? 0));
    }
  });
});
