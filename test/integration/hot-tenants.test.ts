import { paginateQuery } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { eventsPartition } from '../../lambdas/adapters/dynamodb-keys.js';
import { PLAN_LEAD_MS } from '../../lambdas/domain/hot-shards.js';
import { MAX_ID } from '../../lambdas/domain/ids.js';
import type { EventDraft } from '../../lambdas/domain/record.js';
import type { EntrySelector } from '../../lambdas/ports/event-store.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { demoEvents } from '../../local/demo-data.js';
import { apiRequestEvents } from '../helpers/api-request-events.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { allEntries, counterMismatches, form } from '../helpers/purge-fixtures.js';

// Each test walks two tenants' pages through the store and the HTTP dialects: room on a busy machine.
jest.setTimeout(180_000);

/** The same entries (same ids, same content) stored for a tenant on 4 write shards and one on 1. */
const HOT = 'hot-tenant';
const COLD = 'cold-tenant';
const SHARDS = 4;

interface CanaryPage {
  audit_trail: { id: number }[];
  page_count: number;
  cursor: { next: string | null };
}
interface KorePage {
  auditlogs: { AuditLogId: string }[];
  total: number;
  moreAvailable: boolean;
}
interface ApiKeyPage {
  data: { id: string }[];
  links: { next: string | null };
}

describe('a hot tenant on k write shards', () => {
  let service: TestService;
  let seeded: number[];

  /** Every item of one write shard of `tenant`, straight from the table. */
  const shardItems = async (tenant: string, shard: number): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    const pages = paginateQuery(
      { client: service.services.doc },
      {
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': eventsPartition(tenant, shard) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  };

  /**
   * Walks a selector page by page: each page resumes from the last one's shard positions when it
   * merged shards, else (one shard) after its last id, as cursors always did.
   */
  const walk = async (tenant: string, selector: EntrySelector, newestFirst: boolean) => {
    const ids: number[] = [];
    let positions: readonly (number | undefined)[] | undefined;
    let last: number | undefined;
    let read = 0;
    for (;;) {
      const narrowed = positions === undefined && last !== undefined;
      const page = await service.services.events.queryPage({
        tenant,
        selector,
        minId: narrowed && !newestFirst ? (last as number) + 1 : 0,
        maxId: narrowed && newestFirst ? (last as number) - 1 : MAX_ID,
        newestFirst,
        limit: 37,
        ...(positions ? { shardPositions: positions } : {}),
      });
      ids.push(...page.records.map((record) => record.id));
      read += page.itemsRead;
      if (page.records.length < 37) break;
      positions = page.shardPositions;
      last = page.records.at(-1)?.id;
    }
    return { ids, read };
  };

  beforeAll(async () => {
    service = await startTestService({
      config: { HOT_TENANT_SHARDS: `${HOT}=${SHARDS}` },
      // Kore locates its offsets through the rollup counters: exact once derived.
      settleBeforeRequests: true,
    });
    // Server-stamped (as the ingest handler writes them): slot ids, spread over the shards.
    const now = Date.now();
    const drafts: EventDraft[] = [
      ...demoEvents({ count: 400, days: 1, now, seed: 61 }),
      ...apiRequestEvents({ count: 200, days: 1, now, seed: 62 }),
    ].map(({ timestamp: _stamped, ...draft }) => draft);
    seeded = [];
    for (let start = 0; start < drafts.length; start += 100) {
      const batch = drafts.slice(start, start + 100);
      const ids = await service.services.events.reserveIds(batch);
      await service.services.events.append(HOT, batch, { ids });
      await service.services.events.append(COLD, batch, { ids });
      seeded.push(...ids);
    }
    await service.settle();
    // Two tenants' entries written and derived: room on a busy machine.
  }, 180_000);
  afterAll(async () => service.stop());

  it('writes the hot tenant over all its shards and the cold one to its own partition only', async () => {
    const hot = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => shardItems(HOT, shard)));
    const cold = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => shardItems(COLD, shard)));
    for (const items of hot) expect(items.length).toBeGreaterThan(600 / SHARDS / 2);
    expect(
      hot
        .flat()
        .map((item) => Number(item.id))
        .sort(),
    ).toEqual([...seeded].sort());
    expect(cold.map((items) => items.length)).toEqual([600, 0, 0, 0]);
    // Every item still names its tenant: the shard is only in the keys.
    const [entry] = (
      await service.services.events.queryPage({
        tenant: HOT,
        selector: { kind: 'all' },
        minId: 0,
        maxId: MAX_ID,
        newestFirst: true,
        limit: 1,
      })
    ).records;
    expect(entry?.tenant).toBe(HOT);
  });

  it('pages every selector in the same order as one partition: no entry skipped or repeated', async () => {
    const selectors: EntrySelector[] = [
      { kind: 'all' },
      { kind: 'action', action: 'user_login' },
      { kind: 'actor', actor: 'ana@example.com' },
      { kind: 'apiCalls' },
    ];
    for (const selector of selectors) {
      for (const newestFirst of [true, false]) {
        const hot = await walk(HOT, selector, newestFirst);
        const cold = await walk(COLD, selector, newestFirst);
        expect(hot.ids.length).toBeGreaterThan(10);
        expect(hot.ids).toEqual(cold.ids);
        expect(new Set(hot.ids).size).toBe(hot.ids.length);
        // Read amplification of the merged walk, against the one-partition walk of the same entries.
        expect(hot.read / hot.ids.length).toBeLessThanOrEqual(1.5);
      }
    }
    const first = await walk(HOT, { kind: 'all' }, true);
    expect(first.ids).toEqual([...seeded].sort((a, b) => b - a));
  });

  it('counts the same: entry counts, counts to a limit, and the rollup counters once derived', async () => {
    const range = { selector: { kind: 'all' } as const, minId: 0, maxId: MAX_ID, newestFirst: true };
    const hotCount = await service.services.events.countEntries({ tenant: HOT, ...range });
    const coldCount = await service.services.events.countEntries({ tenant: COLD, ...range });
    expect(hotCount.count).toBe(600);
    expect(coldCount.count).toBe(600);
    const hotLimited = await service.services.events.countEntries({ tenant: HOT, ...range, limit: 250 });
    const coldLimited = await service.services.events.countEntries({ tenant: COLD, ...range, limit: 250 });
    expect({ count: hotLimited.count, lastId: hotLimited.lastId }).toEqual({
      count: coldLimited.count,
      lastId: coldLimited.lastId,
    });
    expect(await counterMismatches(service.services, HOT)).toEqual([]);
    expect(await counterMismatches(service.services, COLD)).toEqual([]);
    expect(await service.services.counters.total(HOT, { kind: 'all' })).toBe(600);
  });

  it('answers every dialect the same for both tenants', async () => {
    const answers = async (tenant: string) => {
      const token = await service.token(tenant, ['read']);
      const app = await registerKoreApp(
        service.services.koreApps,
        { tenant, scopes: ['read'] },
        service.services.tenants,
      );
      const jwt = await koreJwt(app.appId, app.clientSecret);
      const canary: number[] = [];
      let page = (await service.get('/api/v1/audit_trail/fetch', { auth_token: token, limit: '45' }))
        .body as CanaryPage;
      const pageCount = page.page_count;
      for (;;) {
        canary.push(...page.audit_trail.map((entry) => entry.id));
        if (!page.cursor.next) break;
        page = (
          await service.get('/api/v1/audit_trail/fetch', { auth_token: token, cursor: page.cursor.next })
        ).body as CanaryPage;
      }
      const today = new Date(Date.now() - 86_400_000 * 2).toISOString().slice(0, 10);
      const later = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const kore: number[] = [];
      for (let offset = 0; ; offset += 1) {
        const korePage = (
          await service.get(
            '/api/public/auditlogs',
            { fromDate: today, toDate: later, size: '50', offset: String(offset) },
            { auth: jwt },
          )
        ).body as KorePage;
        kore.push(...korePage.auditlogs.map((entry) => Number(entry.AuditLogId)));
        if (!korePage.moreAvailable) break;
      }
      const apiKey: number[] = [];
      let link: string | null = '/api/v1/audit-trail?page[size]=40';
      while (link) {
        const apiPage: ApiKeyPage = (await service.get(link, {}, { 'x-api-key': token })).body as ApiKeyPage;
        apiKey.push(...apiPage.data.map((entry) => Number(entry.id)));
        link = apiPage.links.next;
      }
      // Each call adds its own api_request entry to the tenant: compare the seeded entries only.
      const known = new Set(seeded);
      return {
        pageCount: pageCount >= Math.ceil(600 / 45),
        canary: canary.filter((id) => known.has(id)),
        kore: kore.filter((id) => known.has(id)),
        apiKey: apiKey.filter((id) => known.has(id)),
      };
    };
    const hot = await answers(HOT);
    const cold = await answers(COLD);
    expect(hot.canary).toEqual([...seeded].sort((a, b) => b - a));
    expect(hot.kore.length).toBe(600);
    expect(hot.apiKey.length).toBeGreaterThan(100);
    expect(hot).toEqual(cold);
  });

  it('purges every shard, and the counters stay exact', async () => {
    const through = [...seeded].sort((a, b) => a - b)[299] as number;
    for (const tenant of [HOT, COLD]) {
      const token = await service.token(tenant, ['purge']);
      const response = await service.request(
        'POST',
        '/api/v1/audit_trail/purge',
        form({ auth_token: token, id: String(through) }),
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ deleted: expect.any(Number) });
    }
    const hotLeft = (
      await Promise.all(Array.from({ length: SHARDS }, (_, shard) => shardItems(HOT, shard)))
    ).flat();
    expect(hotLeft.filter((item) => Number(item.id) <= through)).toEqual([]);
    const hot = await allEntries(service.services, HOT);
    const cold = await allEntries(service.services, COLD);
    expect(hot.filter((entry) => seeded.includes(entry.id)).map((entry) => entry.id)).toEqual(
      cold.filter((entry) => seeded.includes(entry.id)).map((entry) => entry.id),
    );
    expect(hot.filter((entry) => seeded.includes(entry.id))).toHaveLength(300);
    expect(await counterMismatches(service.services, HOT)).toEqual([]);
  });
});

describe('write shards chosen from measured load', () => {
  let service: TestService;

  beforeAll(async () => {
    // A key planned to carry 50 write units a second: a burst of a few hundred entries is "hot".
    service = await startTestService({ config: { HOT_TENANT_UNITS_PER_KEY: '50' } });
  }, 120_000);
  afterAll(async () => service.stop());

  it('records a plan for a tenant whose rate needs it, effective later; a quiet tenant stays at k = 1', async () => {
    const before = Date.now();
    const burst = demoEvents({ count: 400, days: 1, now: before, seed: 63 }).map(
      ({ timestamp: _stamped, ...draft }) => draft,
    );
    await Promise.all(
      [0, 100, 200, 300].map((start) =>
        service.services.events.append('bursty', burst.slice(start, start + 100)),
      ),
    );
    await service.services.events.append('quiet', burst.slice(0, 20));
    await service.settle();

    const plans = await service.services.shardPlans.plans('bursty');
    expect(plans).toHaveLength(1);
    const [plan] = plans;
    // The first chunks' entries in one second over 50 units per key: a power of two above 1.
    expect(plan?.shards).toBeGreaterThanOrEqual(2);
    expect(Math.log2(plan?.shards ?? 0) % 1).toBe(0);
    // Effective only after every writer's cache has seen it: nothing written so far moves.
    expect(plan?.from).toBeGreaterThanOrEqual(before + PLAN_LEAD_MS);
    expect(await service.services.shardPlans.plans('quiet')).toEqual([]);
    const page = await service.services.events.queryPage({
      tenant: 'bursty',
      selector: { kind: 'all' },
      minId: 0,
      maxId: MAX_ID,
      newestFirst: true,
      limit: 1000,
    });
    expect(page.records).toHaveLength(400);
  });
});
