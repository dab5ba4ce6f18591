import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EventDraft } from '../../lambdas/domain/record.js';
import { issueToken } from '../../lambdas/use-cases/manage-tokens.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/**
 * A token narrowed to one actor (`npm run tokens -- create --actor`, what the embedded console is
 * given) reads that actor's entries and nothing else: through every dialect, every credential
 * form, every filter and cursor; every endpoint that serves the whole tenant refuses it.
 */
const FETCH = '/api/v1/audit_trail/fetch';
const KORE = '/api/public/auditlogs';
const API_KEY = '/api/v1/audit-trail';
const TENANT = 'narrow-co';
const HOUR = 3_600_000;
const START = Date.UTC(2026, 9, 1);

interface CanaryPage {
  audit_trail: { id: number; user: string | null; action_type: string }[];
  cursor: { next: string | null; prev: string | null };
  page_count: number;
  page_number: number;
}

/** Entries of three users and of an API key, spread over 3 days (whole days and partial hours). */
const drafts = (): EventDraft[] => {
  const users = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
  return Array.from({ length: 240 }, (_, index) => {
    const user = users[index % 3] as string;
    const timestamp = START + index * 17 * 60_000;
    if (index % 10 === 9)
      return {
        timestamp,
        action_type: 'api_request',
        request: { uri: '/x', method: 'GET', status: 200, query_parameters: {} },
        api_key: { id: 'tok_0000000000000abc', name: 'k' },
      };
    return {
      timestamp,
      action_type: index % 2 === 0 ? 'user_login' : 'device_edit',
      user,
      message: `${user} did ${index}`,
    };
  });
};

describe('Security: tokens narrowed to one actor', () => {
  let service: TestService;
  let alice: string;
  let aliceIds: number[];

  const canaryPages = async (query: Record<string, string>, headers: Record<string, string> = {}) => {
    const pages: CanaryPage[] = [];
    let response = await service.get(FETCH, query, headers);
    for (;;) {
      expect(response.status).toBe(200);
      const page = response.body as CanaryPage;
      pages.push(page);
      if (!page.cursor.next) return pages;
      const { limit: _limit, ...rest } = query;
      response = await service.get(FETCH, { ...rest, cursor: page.cursor.next }, headers);
    }
  };

  beforeAll(async () => {
    service = await startTestService();
    const stored = await service.services.events.append(TENANT, drafts());
    const records = stored.filter((record) => record !== null);

    aliceIds = records
      .filter((record) => record.user === 'alice@example.com')
      .map((record) => record.id)
      .sort((a, b) => b - a);
    alice = (
      await issueToken(
        service.services.tokens,
        {
          tenant: TENANT,
          scopes: ['read'],
          actor: 'alice@example.com',
        },
        service.services.tenants,
      )
    ).token;
  });
  afterAll(async () => service.stop());

  it.each([
    ['auth_token', (token: string) => [{ auth_token: token }, {}] as const],
    ['x-api-key', (token: string) => [{}, { 'x-api-key': token }] as const],
    ['Authorization: Bearer', (token: string) => [{}, { authorization: `Bearer ${token}` }] as const],
  ])(
    'serves only the actor’s entries on canary fetch, with exact page counts (%s)',
    async (_form, credential) => {
      // Prepare
      const [query, headers] = credential(alice);

      // Act
      const pages = await canaryPages({ ...query, limit: '7' }, headers);

      // Assess
      const ids = pages.flatMap((page) => page.audit_trail.map((entry) => entry.id));
      expect(ids).toEqual(aliceIds);
      expect(pages.flatMap((page) => page.audit_trail.map((entry) => entry.user))).toEqual(
        aliceIds.map(() => 'alice@example.com'),
      );
      expect(pages[0]?.page_count).toBe(Math.ceil(aliceIds.length / 7));
      expect(pages.length).toBe(Math.ceil(aliceIds.length / 7));
    },
  );

  it('keeps a date range inside the actor’s entries, and another user_filter selects nothing', async () => {
    // Prepare
    const from = new Date(START + 20 * HOUR).toISOString();
    const to = new Date(START + 50 * HOUR + 30 * 60_000).toISOString();

    // Act
    const ranged = await canaryPages({ auth_token: alice, from, to, limit: '5' });
    const bob = await service.get(FETCH, { auth_token: alice, user_filter: 'bob@example.com' });
    const self = await canaryPages({ auth_token: alice, user_filter: 'alice@example.com' });
    const withAction = await service.get(FETCH, { auth_token: alice, action_filter: 'user_login' });

    // Assess
    const expected = aliceIds.filter((id) => {
      const time = Math.floor(id / 1024) + Date.UTC(2000, 0, 1);
      return time >= Date.parse(from) && time <= Date.parse(to);
    });
    expect(expected.length).toBeGreaterThan(10);
    expect(ranged.flatMap((page) => page.audit_trail.map((entry) => entry.id))).toEqual(expected);
    expect(ranged[0]?.page_count).toBe(Math.ceil(expected.length / 5));
    expect(bob.status).toBe(200);
    expect((bob.body as CanaryPage).audit_trail).toEqual([]);
    expect(self.flatMap((page) => page.audit_trail.map((entry) => entry.id))).toEqual(aliceIds);
    expect(withAction.status).toBe(400);
    expect(withAction.body).toMatchObject({ result: 'error', message: expect.stringMatching(/one actor/) });
  });

  it('refuses a cursor issued for the whole tenant instead of widening the listing', async () => {
    // Prepare
    const admin = await service.token(TENANT, ['read']);
    const wide = (await service.get(FETCH, { auth_token: admin, limit: '5' })).body as CanaryPage;

    // Act
    const reused = await service.get(FETCH, { auth_token: alice, cursor: wide.cursor.next as string });

    // Assess
    expect(reused.status).toBe(400);
  });

  it('gives a narrowed token nothing through the kore dialect, which takes only kore app JWTs', async () => {
    // Act
    const asApiKey = await service.get(KORE, { size: '25' }, { 'x-api-key': alice });
    const asAuth = await service.get(KORE, { size: '25' }, { auth: alice });

    // Assess
    expect(asApiKey.status).toBe(401);
    expect(asAuth.status).toBe(401);
    expect(JSON.stringify([asApiKey.body, asAuth.body])).not.toContain('AuditLogId');
  });

  it('refuses a narrowed token on the api-key dialect, which lists API calls (made by keys, not people)', async () => {
    // Act
    const own = await service.get(API_KEY, {}, { 'x-api-key': alice });

    // Assess
    expect(own.status).toBe(403);
    expect(JSON.stringify(own.body)).not.toContain('"uri"');
  });

  it('lets a whole-tenant token filter by user, and refuses user_filter with action_filter', async () => {
    // Prepare
    const admin = await service.token(TENANT, ['read']);

    // Act
    const pages = await canaryPages({ auth_token: admin, user_filter: 'alice@example.com', limit: '50' });
    const both = await service.get(FETCH, {
      auth_token: admin,
      user_filter: 'alice@example.com',
      action_filter: 'user_login',
    });

    // Assess
    expect(pages.flatMap((page) => page.audit_trail.map((entry) => entry.id))).toEqual(aliceIds);
    expect(both.status).toBe(400);
  });

  it('refuses to mint a narrowed token with any scope but read', async () => {
    await expect(
      issueToken(
        service.services.tokens,
        { tenant: TENANT, scopes: ['read', 'download'], actor: 'alice' },
        service.services.tenants,
      ),
    ).rejects.toThrow(/only have the read scope/);
  });
});
