import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EventDraft } from '../../lambdas/domain/record.js';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const FETCH = '/api/v1/audit_trail/fetch';

interface CanaryPage {
  audit_trail: {
    id: number;
    action_type: string;
    timestamp: string;
    timestamp_std?: string;
    user: string | null;
  }[];
  cursor: { next: string | null; prev: string | null };
  page_count: number;
  page_number: number;
  result: string;
}

describe('GET /api/v1/audit_trail/fetch', () => {
  let service: TestService;
  let token: string;
  let drafts: EventDraft[];

  beforeAll(async () => {
    service = await startTestService({ settleBeforeRequests: true });
    token = await service.token('acme', ['read']);
    drafts = demoEvents({ count: 600, days: 5, now: Date.UTC(2026, 10, 1) });
    for (let start = 0; start < drafts.length; start += 100) {
      await service.services.events.append('acme', drafts.slice(start, start + 100));
    }
  });
  afterAll(async () => service.stop());

  it('walks the seed 000 example: 5 newest logins, next to page 2, prev back to page 1 identical', async () => {
    // Prepare
    const logins = drafts.filter((draft) => draft.action_type === 'user_login').length;

    // Act
    const first = await service.get(FETCH, { auth_token: token, limit: '5', action_filter: 'user_login' });
    const firstPage = first.body as CanaryPage;
    const second = await service.get(FETCH, {
      auth_token: token,
      action_filter: 'user_login',
      cursor: firstPage.cursor.next as string,
    });
    const secondPage = second.body as CanaryPage;
    const back = await service.get(FETCH, {
      auth_token: token,
      action_filter: 'user_login',
      cursor: secondPage.cursor.prev as string,
    });

    // Assess
    expect(first.status).toBe(200);
    expect(firstPage.result).toBe('success');
    expect(firstPage.page_number).toBe(1);
    expect(firstPage.page_count).toBe(Math.ceil(logins / 5));
    expect(firstPage.cursor.prev).toBeNull();
    expect(firstPage.audit_trail).toHaveLength(5);
    expect(firstPage.audit_trail.every((entry) => entry.action_type === 'user_login')).toBe(true);
    const ids = firstPage.audit_trail.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(Object.keys(firstPage.audit_trail[0] ?? {})).toEqual([
      'action_type',
      'additional_information',
      'flock_id',
      'id',
      'message',
      'timestamp',
      'user',
      'user_browser_agent',
      'user_browser_language',
      'user_ip',
    ]);
    expect(firstPage.audit_trail[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+0000$/);
    expect(secondPage.page_number).toBe(2);
    expect(Math.max(...secondPage.audit_trail.map((entry) => entry.id))).toBeLessThan(Math.min(...ids));
    expect(back.body).toEqual({ ...firstPage, cursor: { next: expect.any(String), prev: null } });
    expect((back.body as CanaryPage).audit_trail).toEqual(firstPage.audit_trail);
  });

  it('walks every page to the end: each entry once, last next null', async () => {
    // Prepare: earlier calls added their own api_request entries (self-audit) to the tenant,
    // counted once the stream consumer has caught up.
    await service.settle();
    const total = await service.services.counters.total('acme', { kind: 'all' });

    // Act
    const seen: number[] = [];
    const actions: string[] = [];
    let page = (await service.get(FETCH, { auth_token: token, limit: '70' })).body as CanaryPage;
    seen.push(...page.audit_trail.map((entry) => entry.id));
    actions.push(...page.audit_trail.map((entry) => entry.action_type));
    while (page.cursor.next) {
      page = (await service.get(FETCH, { auth_token: token, cursor: page.cursor.next })).body as CanaryPage;
      seen.push(...page.audit_trail.map((entry) => entry.id));
      actions.push(...page.audit_trail.map((entry) => entry.action_type));
    }

    // Assess
    expect(page.page_number).toBe(page.page_count);
    expect(page.page_count).toBe(Math.ceil(total / 70));
    expect(new Set(seen).size).toBe(total);
    expect(actions.filter((action) => action !== 'api_request')).toHaveLength(600);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it('defaults to 100 entries a page', async () => {
    const total = await service.services.counters.total('acme', { kind: 'all' });
    const page = (await service.get(FETCH, { auth_token: token })).body as CanaryPage;
    expect(page.audit_trail).toHaveLength(100);
    expect(page.page_count).toBe(Math.ceil(total / 100));
  });

  it('adds timestamp_std in the tz asked for', async () => {
    const page = (await service.get(FETCH, { auth_token: token, limit: '1', tz: 'America/New_York' }))
      .body as CanaryPage;
    expect(page.audit_trail[0]?.timestamp_std).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T-0[45]00$/);
  });

  it('accepts the token as x-api-key and as Authorization: Bearer', async () => {
    const viaHeader = await service.get(FETCH, { limit: '1' }, { 'x-api-key': token });
    const viaBearer = await service.get(FETCH, { limit: '1' }, { authorization: `Bearer ${token}` });
    expect(viaHeader.status).toBe(200);
    expect(viaBearer.status).toBe(200);
  });

  it('gives an empty tenant one empty page', async () => {
    const other = await service.token('empty-tenant', ['read']);
    const response = await service.get(FETCH, { auth_token: other });
    expect(response.body).toEqual({
      audit_trail: [],
      cursor: { next: null, prev: null },
      page_count: 1,
      page_number: 1,
      result: 'success',
    });
  });
});
