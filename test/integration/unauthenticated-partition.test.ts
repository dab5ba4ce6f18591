import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { itemToRecord } from '../../lambdas/adapters/dynamodb-records.js';
import { loadConfig } from '../../lambdas/composition/config.js';
import { MAX_ID } from '../../lambdas/domain/ids.js';
import { PURGE_ACTION } from '../../lambdas/domain/purge.js';
import { DAY_MS } from '../../lambdas/domain/time.js';
import { UNAUTHENTICATED_TENANT } from '../../lambdas/domain/tokens.js';
import { handler as retention } from '../../lambdas/handlers/purge-scheduler.js';
import { OMITTED_PARAMETERS } from '../../lambdas/http/self-audit.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/** What one record of the reserved tenant may take at most, stored (see docs/ingest.md). */
const MAX_UNAUTHENTICATED_ITEM_BYTES = 4 * 1024;

const lambdaContext = (budgetMs: number): Context => {
  const end = Date.now() + budgetMs;
  return { getRemainingTimeInMillis: () => end - Date.now() } as unknown as Context;
};

describe('The #unauthenticated partition', () => {
  let service: TestService;

  const rawItems = async (tenant: string): Promise<Record<string, unknown>[]> => {
    const output = await service.services.doc.send(
      new QueryCommand({
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': tenant },
        ConsistentRead: true,
      }),
    );
    return output.Items ?? [];
  };

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('stores a bounded record of a call without a credential, however long its query and path', async () => {
    // Prepare: ~14 KB of query string (the attack stored ~10 KB a call), long names, multibyte text.
    const query: Record<string, string> = {};
    for (let n = 0; n < 12; n += 1) query[`${n}${'n'.repeat(100)}`] = `${'v'.repeat(900)}😀😀`;
    const token = await service.token('bounded', ['read']);

    // Act
    const unauthenticated = await service.get('/api/v1/audit_trail/fetch', query);
    const unrouted = await service.get(`/api/v1/${'p'.repeat(2000)}`, query);
    const authenticated = await service.get('/api/v1/audit_trail/fetch', query, { 'x-api-key': token });

    // Assess
    expect([unauthenticated.status, unrouted.status, authenticated.status]).toEqual([401, 404, 200]);
    const items = await rawItems(UNAUTHENTICATED_TENANT);
    expect(items).toHaveLength(2);
    for (const item of items) {
      expect(Buffer.byteLength(JSON.stringify(item), 'utf8')).toBeLessThanOrEqual(
        MAX_UNAUTHENTICATED_ITEM_BYTES,
      );
      const record = itemToRecord(item);
      const parameters = record.request?.query_parameters ?? {};
      expect(Object.keys(parameters)).toHaveLength(11);
      expect(parameters[OMITTED_PARAMETERS]).toBe('2 more parameters not recorded');
      expect(Object.values(parameters).every((value) => Buffer.byteLength(value) <= 128)).toBe(true);
    }
    const unroutedRecord = items.map(itemToRecord).find((record) => record.request?.status === 404);
    expect(unroutedRecord?.request?.uri.endsWith('…')).toBe(true);
    // A caller with a credential pays for its own records: its query is kept in full.
    const [own] = (await rawItems('bounded')).map(itemToRecord);
    expect(Object.keys(own?.request?.query_parameters ?? {})).toHaveLength(12);
  });

  it('is purged by the retention scheduler after its own retention, without archiving', async () => {
    // Prepare: records of calls 40 and 5 days old (the default retention is 30 days).
    const now = Date.now();
    const drafts = [40, 39, 5, 1].map((days) => ({
      timestamp: now - days * DAY_MS,
      action_type: 'api_request',
      category: 'Audit trail',
      message: `GET /api/v1/x 401 (${days} days ago)`,
    }));
    await service.services.events.append(UNAUTHENTICATED_TENANT, drafts);

    // Act
    const summary = await retention({}, lambdaContext(60_000));

    // Assess
    expect(summary.failed).toBe(0);
    const { records } = await service.services.events.queryPage({
      tenant: UNAUTHENTICATED_TENANT,
      selector: { kind: 'all' },
      minId: 0,
      maxId: MAX_ID,
      newestFirst: false,
      limit: 100,
    });
    const cutoff = now - 30 * DAY_MS;
    expect(records.filter((record) => record.timestamp < cutoff)).toEqual([]);
    expect(records.filter((record) => record.message?.endsWith('days ago)')).map((r) => r.message)).toEqual([
      'GET /api/v1/x 401 (5 days ago)',
      'GET /api/v1/x 401 (1 days ago)',
    ]);
    const purge = records.find((record) => record.action_type === PURGE_ACTION);
    expect(purge?.additional_information).toMatchObject({ archive: null, started_by: 'retention' });
  });

  it('takes its retention from UNAUTHENTICATED_RETENTION_DAYS, 30 days unless set', () => {
    // Prepare
    const base = { EVENTS_TABLE: 'events', CONTROL_TABLE: 'control' };

    // Act, Assess
    expect(loadConfig(base).UNAUTHENTICATED_RETENTION_DAYS).toBe(30);
    expect(loadConfig({ ...base, UNAUTHENTICATED_RETENTION_DAYS: '7' }).UNAUTHENTICATED_RETENTION_DAYS).toBe(
      7,
    );
    expect(() => loadConfig({ ...base, UNAUTHENTICATED_RETENTION_DAYS: '0' })).toThrow(
      'UNAUTHENTICATED_RETENTION_DAYS',
    );
  });
});
