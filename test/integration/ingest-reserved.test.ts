import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DOWNLOAD_ACTION } from '../../lambdas/domain/export.js';
import { PURGE_ACTION } from '../../lambdas/domain/purge.js';
import { API_REQUEST_ACTION, SERVICE_CATEGORY } from '../../lambdas/domain/record.js';
import { handler as ingestQueue } from '../../lambdas/handlers/ingest-queue.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { busEvent, sqsRecord } from '../helpers/sqs-events.js';

/** The service's own action types, as the canary dialect shows them. */
const SERVICE_ACTIONS = [API_REQUEST_ACTION, PURGE_ACTION, DOWNLOAD_ACTION];
/** The kore `Name` of the service's own records (kore-view humanizes action types). */
const SERVICE_KORE_NAMES = ['API request', 'Audit trail purged', 'Audit trail downloaded'];

interface CanaryPage {
  audit_trail: { id: number; action_type: string; user: string | null }[];
}
interface KorePage {
  auditlogs: { AuditLogId: string; Name: string; Category: string }[];
}
interface ApiKeyPage {
  data: { id: string; uri?: string; meta: { service?: string }; userApiKey?: { id: string } }[];
}

describe('Ingest cannot forge the service own records', () => {
  let service: TestService;
  let token: string;
  let tokenId: string;
  let jwt: string;

  const ingest = (events: unknown[]) =>
    service.request('POST', '/api/v1/audit_trail/events', {
      headers: { 'content-type': 'application/json', 'x-api-key': token },
      body: JSON.stringify({ events }),
    });

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('forge', ['read', 'ingest']);
    tokenId = (await service.services.tokens.listTokens('forge'))[0]?.tokenId ?? '';
    const app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'forge', scopes: ['read'] },
      service.services.tenants,
    );
    jwt = await koreJwt(app.appId, app.clientSecret);
  });
  afterAll(async () => service.stop());

  it('refuses the service own action types, category and key ids in any case or spelling', async () => {
    // Prepare: everything a black-box attacker tried, and spellings that look the same in a view.
    const request = { uri: '/api/v1/audit_trail/purge', method: 'POST', status: 200, query_parameters: {} };
    const forgeries: unknown[] = [
      { action_type: 'API_REQUEST' },
      { action_type: 'Api-Request', request },
      { action_type: 'api.request' },
      { action_type: 'audit_trail_purged' },
      { action_type: 'AUDIT_TRAIL_DOWNLOADED' },
      { action_type: 'Audit-Trail-Exported' },
      { action_type: 'payments.call', category: 'Audit trail' },
      { action_type: 'payments.call', category: '  AUDIT   TRAIL ' },
      { action_type: 'payments.call', category: 'audit_trail' },
      { action_type: 'payments.call', category: 'Ａｕｄｉｔ ｔｒａｉｌ' },
      { action_type: 'payments.call', request, api_key: { id: tokenId, name: 'read+ingest token' } },
      { action_type: 'payments.call', api_key: { id: ` ${tokenId.toUpperCase()}`, name: 'x' } },
      { action_type: 'payments.call', api_key: { id: 'cs-2b5e1c90-7f3a-4d6b-9e21-0c8f4a7d3b11', name: 'x' } },
    ];

    // Act
    const answers = await Promise.all(forgeries.map((event) => ingest([{ action_type: 'ok' }, event])));

    // Assess: each batch refused whole, naming the field; nothing but the service's own records stored.
    expect(answers.map((answer) => answer.status)).toEqual(forgeries.map(() => 400));
    for (const answer of answers)
      expect((answer.body as { message: string }).message).toMatch(/^events\[1\]\./);
    const { records } = await service.services.events.queryPage({
      tenant: 'forge',
      selector: { kind: 'all' },
      minId: 0,
      maxId: Number.MAX_SAFE_INTEGER,
      newestFirst: false,
      limit: 1000,
    });
    expect(records.filter((record) => record.action_type !== API_REQUEST_ACTION)).toEqual([]);
  });

  it('refuses them on the EventBridge path too', async () => {
    // Prepare
    const message = sqsRecord(busEvent('forge', [{ action_type: 'Audit_Trail_Purged' }]));

    // Act
    const result = await ingestQueue({ Records: [message] });

    // Assess
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }]);
  });

  it('never logs a credential-shaped field name of a refused message', async () => {
    // Prepare
    const token = 'ats_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
    const message = sqsRecord(busEvent('forge', [{ action_type: 'ok', [token]: 1 }]));
    const logged: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;

    // Act
    try {
      await ingestQueue({ Records: [message] });
    } finally {
      process.stdout.write = write;
    }

    // Assess
    expect(logged.join('')).toContain('is not a known field');
    expect(logged.join('')).not.toContain(token.slice(4));
  });

  it('keeps ingested API-call records apart from the service own records in every dialect', async () => {
    // Prepare: the closest an ingested record may come (another route, a key id of the client's own).
    const ingested = await ingest([
      {
        action_type: 'payments.request',
        category: 'Payments',
        user_ip: '127.0.0.1',
        api_key: { id: 'key_5e94d5b63f557b00', name: 'read+ingest token' },
        request: { uri: '/api/v1/audit_trail/purge', method: 'POST', status: 200, query_parameters: {} },
      },
      {
        action_type: 'api_call',
        api_key: { id: 'key_5e94d5b63f557b00', name: 'read+ingest token' },
        request: { uri: '/api/v1/audit-trail', method: 'GET', status: 200, query_parameters: {} },
      },
    ]);
    expect(ingested.status).toBe(201);
    const ingestedIds = new Set((ingested.body as { ids: number[] }).ids.map(String));

    // Act
    const canary = (await service.get('/api/v1/audit_trail/fetch', { limit: '1000' }, { 'x-api-key': token }))
      .body as CanaryPage;
    const kore = (await service.get('/api/public/auditlogs', { size: '100' }, { auth: jwt }))
      .body as KorePage;
    const apiKey = (await service.get('/api/v1/audit-trail', {}, { 'x-api-key': token })).body as ApiKeyPage;

    // Assess: the rule each dialect's docs give tells every genuine record from every ingested one.
    const isOwnCanary = (entry: CanaryPage['audit_trail'][number]) =>
      SERVICE_ACTIONS.includes(entry.action_type);
    const isOwnKore = (entry: KorePage['auditlogs'][number]) =>
      SERVICE_KORE_NAMES.includes(entry.Name) || entry.Category === SERVICE_CATEGORY;
    const isOwnApiKey = (entry: ApiKeyPage['data'][number]) => entry.meta.service === SERVICE_CATEGORY;
    const views: [string, (readonly [string, boolean])[]][] = [
      ['canary', canary.audit_trail.map((e) => [String(e.id), isOwnCanary(e)] as const)],
      ['kore', kore.auditlogs.map((e) => [e.AuditLogId, isOwnKore(e)] as const)],
      ['api-key', apiKey.data.map((e) => [e.id, isOwnApiKey(e)] as const)],
    ];
    for (const [dialect, ids] of views) {
      const seen = ids.filter(([id]) => ingestedIds.has(id));
      expect([dialect, seen.length]).toEqual([dialect, 2]);
      expect([dialect, seen.filter(([, isOwn]) => isOwn)]).toEqual([dialect, []]);
      const genuine = ids.filter(([id]) => !ingestedIds.has(id));
      expect(genuine.length).toBeGreaterThan(0);
      expect([dialect, genuine.filter(([, isOwn]) => !isOwn)]).toEqual([dialect, []]);
    }
    // A token's own calls are exactly what its key id finds.
    const byKey = (
      await service.get('/api/v1/audit-trail', { 'filter[userApiKey._id]': tokenId }, { 'x-api-key': token })
    ).body as ApiKeyPage;
    expect(byKey.data.filter((entry) => ingestedIds.has(entry.id))).toEqual([]);
    expect(byKey.data.every((entry) => entry.meta.service === SERVICE_CATEGORY)).toBe(true);
  });
});
