import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { filterFingerprint, sealCursor } from '../../lambdas/domain/cursor.js';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const FETCH = '/api/v1/audit_trail/fetch';

interface CanaryPage {
  audit_trail: { id: number; user: string | null }[];
  cursor: { next: string | null; prev: string | null };
}

describe('GET /api/v1/audit_trail/fetch: bad input and tenant isolation', () => {
  let service: TestService;
  let acme: string;
  let globex: string;
  let noRead: string;
  let acmeIds: Set<number>;

  beforeAll(async () => {
    service = await startTestService();
    acme = await service.token('acme', ['read']);
    globex = await service.token('globex', ['read']);
    noRead = await service.token('acme', ['ingest']);
    const now = Date.UTC(2026, 9, 1);
    const acmeRecords = await service.services.events.append(
      'acme',
      demoEvents({ count: 40, days: 2, now, seed: 1 }),
    );
    await service.services.events.append('globex', demoEvents({ count: 30, days: 2, now, seed: 2 }));
    acmeIds = new Set(acmeRecords.map((record) => record?.id as number));
  });
  afterAll(async () => service.stop());

  const expectCanaryError = (
    response: { status: number; body: unknown },
    status: number,
    message: RegExp,
  ) => {
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ result: 'error', message: expect.stringMatching(message) });
  };

  it.each([['0'], ['-1'], ['1001'], ['abc'], ['1.5'], [''], ['99999999999999999999']])(
    'refuses limit=%p with 400',
    async (limit) => {
      expectCanaryError(await service.get(FETCH, { auth_token: acme, limit }), 400, /limit/);
    },
  );

  it('refuses a missing token with 401', async () => {
    expectCanaryError(await service.get(FETCH, { limit: '5' }), 401, /No credentials/);
  });

  it.each([['unknown-token-0123456789abcdef'], ['short'], [`ats_${'x'.repeat(43)}`]])(
    'refuses token %p with 401',
    async (token) => {
      expectCanaryError(await service.get(FETCH, { auth_token: token }), 401, /not valid/);
    },
  );

  it('refuses a token without the read scope with 403', async () => {
    expectCanaryError(await service.get(FETCH, { auth_token: noRead }), 403, /"read" scope/);
  });

  it('refuses an unknown tz with 400', async () => {
    expectCanaryError(
      await service.get(FETCH, { auth_token: acme, tz: 'Mars/Base' }),
      400,
      /tz "Mars\/Base" is not a known time zone/,
    );
  });

  it('refuses limit together with a cursor', async () => {
    const first = (await service.get(FETCH, { auth_token: acme, limit: '5' })).body as CanaryPage;
    expectCanaryError(
      await service.get(FETCH, { auth_token: acme, limit: '5', cursor: first.cursor.next as string }),
      400,
      /limit cannot be used with a cursor/,
    );
  });

  describe('cursors', () => {
    let next: string;
    beforeAll(async () => {
      next = (
        (await service.get(FETCH, { auth_token: acme, limit: '5', action_filter: 'user_login' }))
          .body as CanaryPage
      ).cursor.next as string;
    });

    it('refuses garbage and truncated cursors', async () => {
      for (const cursor of [
        'garbage',
        'MDo0NzE6NTozOjI6MTAz',
        next.slice(0, 20),
        next.slice(0, -1),
        `${next}.x`,
      ]) {
        expectCanaryError(
          await service.get(FETCH, { auth_token: acme, action_filter: 'user_login', cursor }),
          400,
          /cursor/,
        );
      }
    });

    it('refuses a cursor altered by one bit', async () => {
      const bytes = Buffer.from(next);
      bytes[10] = (bytes[10] as number) ^ 0x01;
      expectCanaryError(
        await service.get(FETCH, { auth_token: acme, action_filter: 'user_login', cursor: bytes.toString() }),
        400,
        /cursor/,
      );
    });

    it('refuses an expired cursor', async () => {
      // Prepare: a correctly signed cursor for these filters whose expiry has passed.
      const expired = sealCursor(
        {
          tenant: 'acme',
          dialect: 'canary',
          filters: filterFingerprint({ action: 'user_login' }),
          direction: 'next',
          boundaryId: 1,
          page: 2,
          pageCount: 3,
          pageSize: 5,
          expiresAt: Date.now() - 1000,
        },
        service.cursorKey,
      );

      // Act
      const response = await service.get(FETCH, {
        auth_token: acme,
        action_filter: 'user_login',
        cursor: expired,
      });

      // Assess
      expectCanaryError(response, 400, /expired/);
    });

    it("refuses another tenant's cursor", async () => {
      expectCanaryError(
        await service.get(FETCH, { auth_token: globex, action_filter: 'user_login', cursor: next }),
        400,
        /not issued to this account/,
      );
    });

    it('refuses a cursor used with another action_filter', async () => {
      expectCanaryError(
        await service.get(FETCH, { auth_token: acme, action_filter: 'user_logout', cursor: next }),
        400,
        /other filters/,
      );
      expectCanaryError(await service.get(FETCH, { auth_token: acme, cursor: next }), 400, /other filters/);
    });
  });

  it("never shows one tenant another tenant's entries", async () => {
    // Act: walk globex completely, with every filter acme has data for.
    const seen: number[] = [];
    for (const filter of [undefined, 'user_login', 'user_logout', 'alert_acknowledged']) {
      let page = (
        await service.get(FETCH, {
          auth_token: globex,
          limit: '7',
          ...(filter ? { action_filter: filter } : {}),
        })
      ).body as CanaryPage;
      seen.push(...page.audit_trail.map((entry) => entry.id));
      while (page.cursor.next) {
        page = (
          await service.get(FETCH, {
            auth_token: globex,
            cursor: page.cursor.next,
            ...(filter ? { action_filter: filter } : {}),
          })
        ).body as CanaryPage;
        seen.push(...page.audit_trail.map((entry) => entry.id));
      }
    }

    // Assess
    expect(seen.length).toBeGreaterThanOrEqual(30);
    expect(seen.filter((id) => acmeIds.has(id))).toEqual([]);
  });
});
