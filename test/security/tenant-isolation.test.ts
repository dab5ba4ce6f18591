import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { API_REQUEST_ACTION, type AuditRecord } from '../../lambdas/domain/record.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { demoEvents } from '../../local/demo-data.js';
import { koreJwt, unsignedJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { allEntries, form, seed } from '../helpers/purge-fixtures.js';

const NOW = Date.UTC(2026, 10, 1);
/** In every message of the victim's entries: it must never show up in the attacker's answers. */
const MARKER = 'victim-only-3c1f';

/** Query parameters and headers a client might try to pick another tenant with. */
const TENANT_PARAMETERS = {
  tenant: 'victim',
  tenant_id: 'victim',
  tenantId: 'victim',
  'filter[tenant]': 'victim',
  account: 'victim',
};
const TENANT_HEADERS = { 'x-tenant-id': 'victim', 'x-tenant': 'victim', 'x-account-id': 'victim' };

/**
 * Security (issue 9, item 5): the tenant is the credential's, never the request's. Parameters,
 * headers and body fields naming another tenant, another tenant's ids as purge targets, and
 * errors around credentials are tried on every dialect; another tenant's entries are never
 * shown, written or deleted, and no credential comes back in an answer.
 */
describe('security: tenant isolation and credentials in answers', () => {
  let service: TestService;
  let attacker: string;
  let victimEntries: AuditRecord[];

  beforeAll(async () => {
    service = await startTestService();
    attacker = await service.token('attacker', ['read', 'download', 'purge', 'ingest']);
    await seed(
      service.services,
      'victim',
      demoEvents({ count: 40, days: 2, now: NOW, seed: 51 }).map((draft) => ({ ...draft, message: MARKER })),
    );
    await seed(service.services, 'attacker', demoEvents({ count: 40, days: 2, now: NOW, seed: 52 }));
    victimEntries = await allEntries(service.services, 'victim');
  });
  afterAll(async () => service.stop());

  /** Fails when the victim's entries changed in any way (no entry added, removed or altered). */
  const expectVictimUntouched = async () => {
    expect(await allEntries(service.services, 'victim')).toEqual(victimEntries);
  };

  it('never selects another tenant through tenant-naming parameters or headers, on any read route', async () => {
    // Prepare
    const kore = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'attacker', scopes: ['read'] },
      service.services.tenants,
    );
    const jwt = await koreJwt(kore.appId, kore.clientSecret);
    const reads: [string, Record<string, string>, Record<string, string>][] = [
      ['/api/v1/audit_trail/fetch', { auth_token: attacker, limit: '1000' }, {}],
      ['/api/v1/audit-trail', { 'page[size]': '1000' }, { 'x-api-key': attacker }],
      ['/api/public/auditlogs', { size: '100' }, { auth: jwt }],
      ['/api/v1/audit_trail/archives', { auth_token: attacker }, {}],
    ];
    const victimIds = victimEntries.map((entry) => String(entry.id));
    const answered = new Map<string, number[]>();

    for (const [path, query, headers] of reads) {
      // The headers alone, then with each parameter.
      const extras = [{}, ...Object.entries(TENANT_PARAMETERS).map(([name, value]) => ({ [name]: value }))];
      for (const extra of extras) {
        // Act
        const response = await service.get(path, { ...query, ...extra }, { ...headers, ...TENANT_HEADERS });

        // Assess: refused as an unknown parameter, or answered from the caller's own entries.
        expect([200, 400]).toContain(response.status);
        answered.set(path, [...(answered.get(path) ?? []), response.status]);
        expect(response.text).not.toContain(MARKER);
        for (const id of victimIds) expect(response.text).not.toContain(id);
      }
    }
    // Not vacuous: every route answered the caller's own data at least with the headers alone.
    for (const [path] of reads) expect(answered.get(path)).toContain(200);
    await expectVictimUntouched();
  });

  it('writes ingested events to the caller only, whatever tenant the request names', async () => {
    // Prepare
    const before = (await allEntries(service.services, 'attacker')).length;
    const post = (body: unknown, query: Record<string, string> = {}) =>
      service.request('POST', '/api/v1/audit_trail/events', {
        query,
        headers: { 'content-type': 'application/json', 'x-api-key': attacker, ...TENANT_HEADERS },
        body: JSON.stringify(body),
      });

    // Act
    const answers = [
      await post({ events: [{ action_type: 'planted', tenant: 'victim' }] }),
      await post({ tenant: 'victim', events: [{ action_type: 'planted' }] }),
      await post({ events: [{ action_type: 'planted' }] }, TENANT_PARAMETERS),
    ];

    // Assess
    for (const answer of answers) expect([201, 400]).toContain(answer.status);
    await expectVictimUntouched();
    const after = await allEntries(service.services, 'attacker');
    const created = answers.filter((answer) => answer.status === 201).length;
    // Each call is audited in the caller's tenant; accepted events land there too.
    expect(after.filter((entry) => entry.action_type === 'planted')).toHaveLength(created);
    expect(after.length - before).toBe(answers.length + created);
  });

  it("deletes nothing of another tenant when purging through that tenant's ids", async () => {
    // Prepare: the newest victim id is newer than every seeded attacker entry.
    const newestVictimId = Math.max(...victimEntries.map((entry) => entry.id));

    // Act
    const response = await service.request(
      'POST',
      '/api/v1/audit_trail/purge',
      form({ auth_token: attacker, id: String(newestVictimId), ...TENANT_PARAMETERS }),
    );

    // Assess
    expect([200, 400]).toContain(response.status);
    await expectVictimUntouched();
    if (response.status === 200) {
      const left = await allEntries(service.services, 'attacker');
      expect(
        left.filter((entry) => entry.id <= newestVictimId && entry.action_type !== API_REQUEST_ACTION),
      ).toEqual([]);
    }
  });

  it('never echoes a credential in an error answer, whichever way it was sent', async () => {
    // Prepare: credentials that fail (unknown, forged) and a valid one with a bad parameter.
    const kore = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'attacker', scopes: ['read'] },
      service.services.tenants,
    );
    const forged = await koreJwt(kore.appId, 'not-the-client-secret-0123456789abcdef');
    const unsigned = unsignedJwt({ appId: kore.appId });
    const unknown = `ats_${'q'.repeat(43)}`;
    const calls: [string, Promise<Awaited<ReturnType<TestService['get']>>>][] = [
      [unknown, service.get('/api/v1/audit_trail/fetch', { auth_token: unknown })],
      [unknown, service.get('/api/v1/audit-trail', {}, { 'x-api-key': unknown })],
      [unknown, service.get('/api/v1/audit_trail/download/json', {}, { authorization: `Bearer ${unknown}` })],
      [forged, service.get('/api/public/auditlogs', {}, { auth: forged })],
      [unsigned, service.get('/api/public/auditlogs', {}, { auth: unsigned })],
      [attacker, service.get('/api/v1/audit_trail/fetch', { auth_token: attacker, limit: '0' })],
      [attacker, service.get('/api/v1/audit-trail', { 'page[size]': '0' }, { 'x-api-key': attacker })],
      [attacker, service.get('/api/v1/audit_trail/archives/..%2F..%2Fsecret', { auth_token: attacker })],
      [
        kore.clientSecret,
        service.get(
          '/api/public/auditlogs',
          { size: '0' },
          { auth: await koreJwt(kore.appId, kore.clientSecret) },
        ),
      ],
    ];

    // Act
    const answers = await Promise.all(
      calls.map(async ([credential, call]) => ({ credential, answer: await call })),
    );

    // Assess
    for (const { credential, answer } of answers) {
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expect(answer.text).not.toContain(credential);
      expect(JSON.stringify([...answer.headers.entries()])).not.toContain(credential);
    }
    // Nor is any of them stored anywhere (the calls were all audited). The kore client secret is
    // left out: verifying HS256 needs it, so the app registry keeps it.
    let stored = '';
    for (const table of [service.services.config.EVENTS_TABLE, service.services.config.CONTROL_TABLE]) {
      for await (const output of paginateScan(
        { client: service.services.doc },
        { TableName: table, ConsistentRead: true },
      )) {
        stored += JSON.stringify(output.Items ?? []);
      }
    }
    for (const credential of [unknown, forged, unsigned, attacker]) expect(stored).not.toContain(credential);
  });
});
