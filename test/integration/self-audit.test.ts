import { readFileSync } from 'node:fs';
import { paginateScan, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { itemToRecord } from '../../lambdas/adapters/dynamodb-records.js';
import { UNAUTHENTICATED_TENANT } from '../../lambdas/http/self-audit.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { captureLogs } from '../helpers/logs.js';

interface StoredItem {
  action_type?: string;
  user?: string;
  user_ip?: string;
  category?: string;
  api_key?: { id: string; name: string };
  request?: {
    uri: string;
    method: string;
    status: number;
    query_parameters: Record<string, string>;
    error?: string;
  };
}

describe('self-audit of every API call', () => {
  let service: TestService;
  let token: string;
  let tokenId: string;

  const apiRequests = async (tenant: string): Promise<StoredItem[]> => {
    const output = await service.services.doc.send(
      new QueryCommand({
        TableName: service.services.config.EVENTS_TABLE,
        KeyConditionExpression: 'tenant = :t',
        ExpressionAttributeValues: { ':t': tenant },
        ConsistentRead: true,
      }),
    );
    // Read back the way the service reads its items.
    return (output.Items ?? [])
      .map((item) => itemToRecord(item) as StoredItem)
      .filter((item) => item.action_type === 'api_request');
  };

  const scanAll = async (table: string): Promise<string> => {
    const items: unknown[] = [];
    for await (const output of paginateScan(
      { client: service.services.doc },
      { TableName: table, ConsistentRead: true },
    )) {
      items.push(...(output.Items ?? []));
    }
    return JSON.stringify(items);
  };

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('audited', ['read', 'ingest']);
    const tokens = await service.services.tokens.listTokens('audited');
    tokenId = tokens[0]?.tokenId ?? '';
  });
  afterAll(async () => service.stop());

  it('records a successful call with uri, method, status, source ip, api key and redacted parameters', async () => {
    // Act
    const response = await service.get('/api/v1/audit_trail/fetch', {
      auth_token: token,
      limit: '2',
      password: 'hunter2-secret',
    });

    // Assess
    expect(response.status).toBe(200);
    const [entry] = (await apiRequests('audited')).filter((item) => item.request?.uri.endsWith('/fetch'));
    expect(entry?.request).toEqual({
      uri: '/api/v1/audit_trail/fetch',
      method: 'GET',
      status: 200,
      query_parameters: { auth_token: '[REDACTED]', limit: '2', password: '[REDACTED]' },
    });
    expect(entry?.user_ip).toBe('127.0.0.1');
    expect(entry?.api_key).toEqual({ id: tokenId, name: expect.any(String) });
    expect(entry?.category).toBe('Audit trail');
    expect(entry?.user).toBeUndefined();
  });

  it('records parameters with any name, even empty, "constructor" or "__proto__"', async () => {
    // Prepare: names DynamoDB (empty) or the SDK's marshaller (`constructor`) refuse in a map, and
    // one that a plain assignment would swallow (`__proto__`).
    const url = new URL('/api/v1/audit_trail/fetch?=empty&constructor=c&__proto__=p&limit=1', service.url);

    // Act
    const response = await fetch(url, { headers: { 'x-api-key': token } });
    await service.drainSelfAudit();

    // Assess
    expect(response.status).toBe(200);
    const entry = (await apiRequests('audited')).find((item) =>
      Object.hasOwn(item.request?.query_parameters ?? {}, ''),
    );
    expect(Object.entries(entry?.request?.query_parameters ?? {})).toEqual([
      ['', 'empty'],
      ['constructor', 'c'],
      ['__proto__', 'p'],
      ['limit', '1'],
    ]);
  });

  it('records a failed call with its status and error message', async () => {
    // Act
    const response = await service.get('/api/v1/audit_trail/fetch', { limit: '0' }, { 'x-api-key': token });

    // Assess
    expect(response.status).toBe(400);
    const entry = (await apiRequests('audited')).find((item) => item.request?.status === 400);
    expect(entry?.request?.error).toContain('limit');
    expect(entry?.request?.query_parameters).toEqual({ limit: '0' });
  });

  it('records an unauthenticated call under the reserved tenant', async () => {
    // Act
    const response = await service.get('/api/v1/audit_trail/fetch', {
      auth_token: 'not-a-real-token-xxxxxxxxx',
    });

    // Assess
    expect(response.status).toBe(401);
    const entry = (await apiRequests(UNAUTHENTICATED_TENANT)).find((item) => item.request?.status === 401);
    expect(entry?.request?.query_parameters).toEqual({ auth_token: '[REDACTED]' });
    expect(entry?.api_key).toBeUndefined();
  });

  it('records calls to paths no route serves', async () => {
    // Act
    const response = await service.get(
      '/api/v1/audit_trail/nothing-here',
      {},
      { authorization: `Bearer ${token}` },
    );

    // Assess
    expect(response.status).toBe(404);
    const entry = (await apiRequests('audited')).find((item) => item.request?.status === 404);
    expect(entry?.request?.uri).toBe('/api/v1/audit_trail/nothing-here');
  });

  it('answers the caller even when storing its record fails, and stores the record once the store is back', async () => {
    // Prepare: every entry write of the self-audit consumer fails (behind the request path).
    service.selfAuditServices.doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'BatchWriteItemCommand') {
          const error = new Error('broken');
          error.name = 'InternalServerError';
          throw error;
        }
        return next(args);
      },
      { step: 'initialize', name: 'selfAuditBroken' },
    );
    const logs = captureLogs();
    const marker = `m${Date.now()}`;
    let response: Response;
    try {
      // Act: a plain fetch (the test service's requests wait for the record to be stored).
      response = await fetch(new URL(`/api/v1/audit_trail/fetch?limit=1&marker=${marker}`, service.url), {
        headers: { 'x-api-key': token },
      });
      // The consumer retries the batch while the store fails.
      const failures = service.selfAudit?.stats.failures ?? 0;
      while ((service.selfAudit?.stats.failures ?? 0) < failures + 2)
        await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      logs.restore();
      service.selfAuditServices.doc.middlewareStack.remove('selfAuditBroken');
    }
    await service.drainSelfAudit();

    // Assess: answered; the failures logged by kind only; the record stored exactly once after.
    expect(response.status).toBe(200);
    const errors = logs.entries().filter((entry) => entry.level === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const entry of errors)
      expect(entry).toEqual(
        expect.objectContaining({
          message: 'local self-audit batch failed; retrying',
          error: 'SelfAuditBatchError',
        }),
      );
    expect(JSON.stringify(errors)).not.toContain(marker);
    const stored = (await apiRequests('audited')).filter(
      (item) => item.request?.query_parameters.marker === marker,
    );
    expect(stored).toHaveLength(1);
  });

  it('never stores or answers a credential sent in a name, a padded value, a path or an echoed error', async () => {
    // Prepare: a token that may use every endpoint, and another tenant's token sent along as data.
    const full = await service.token('audited', ['read', 'purge', 'download', 'ingest']);
    const stranger = await service.token('stranger', ['read']);
    const variants = [full, stranger, full.toUpperCase(), stranger.toLowerCase()];
    const header = { 'x-api-key': full };
    const calls: { path: string; query?: Record<string, string>; headers?: Record<string, string> }[] = [
      { path: '/api/v1/audit_trail/fetch', query: { [full]: '' }, headers: header },
      { path: '/api/v1/audit_trail/fetch', query: { [stranger]: '1', limit: '1' }, headers: header },
      { path: '/api/v1/audit_trail/fetch', query: { note: `   ${stranger}` }, headers: header },
      { path: '/api/v1/audit_trail/fetch', query: { note: `x${full.toUpperCase()}y` }, headers: header },
      { path: '/api/v1/audit_trail/fetch', query: { tz: stranger }, headers: header },
      { path: '/api/v1/audit_trail/fetch', query: { auth_token: `   ${full}` } },
      { path: '/api/v1/audit_trail/fetch', query: { auth_token: `  ${stranger}x` } },
      { path: '/api/v1/audit-trail', query: { [stranger]: 'x', [`filter[${full}]`]: '1' }, headers: header },
      { path: '/api/v1/audit-trail', query: { 'filter[userApiKey._id]': stranger }, headers: header },
      { path: `/api/v1/audit_trail/purge/${stranger}`, headers: header },
      { path: `/api/v1/audit_trail/download/jobs/${full.toUpperCase()}`, headers: header },
      { path: `/api/v1/audit_trail/archives/${stranger}`, headers: header },
      { path: `/api/v1/${stranger}`, headers: header },
      { path: `/api/v1/${stranger}` },
      { path: '/api/public/auditlogs', query: { fromDate: full }, headers: { auth: `Bearer ${full}` } },
    ];

    // Act
    const answers: string[] = [];
    for (const call of calls) {
      const response = await service.get(call.path, call.query ?? {}, call.headers ?? {});
      expect(response.status).toBeLessThan(500);
      answers.push(response.text);
    }

    // Assess
    const stored =
      (await scanAll(service.services.config.EVENTS_TABLE)) +
      (await scanAll(service.services.config.CONTROL_TABLE));
    for (const variant of variants) {
      // The random part, in any case: a case variant leaks a token as much as the token does.
      const secret = variant.slice(4).toLowerCase();
      expect(stored.toLowerCase()).not.toContain(secret);
      expect(answers.filter((answer) => answer.toLowerCase().includes(secret))).toEqual([]);
    }
    const recorded = (await apiRequests('audited')).map((item) => item.request?.uri);
    expect(recorded).toContain('/api/v1/audit_trail/purge/[REDACTED]');
    expect(recorded).toContain('/api/v1/[REDACTED]');
  });

  it('never stores or logs the token, whichever way it was sent', async () => {
    // Prepare
    const logged: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    const body = JSON.stringify({ events: [{ action_type: 'credential.test' }] });
    try {
      // Act
      await service.get('/api/v1/audit_trail/fetch', { auth_token: token, note: token });
      await service.request('POST', '/api/v1/audit_trail/fetch', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `auth_token=${token}`,
      });
      await service.get('/api/v1/audit_trail/fetch', {}, { 'x-api-key': token });
      await service.get('/api/v1/audit_trail/fetch', {}, { authorization: `Bearer ${token}` });
      await service.request('POST', '/api/v1/audit_trail/events', {
        headers: { 'content-type': 'application/json', 'x-api-key': token },
        body,
      });
      await service.request('POST', '/api/v1/audit_trail/events', {
        query: { auth_token: token },
        headers: { 'content-type': 'application/json' },
        body,
      });
      await service.request('POST', '/api/v1/audit_trail/events', {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{broken',
      });
      await service.get('/api/v1/audit_trail/missing', { auth_token: token });
    } finally {
      process.stdout.write = write;
    }

    // Assess
    const stored =
      (await scanAll(service.services.config.EVENTS_TABLE)) +
      (await scanAll(service.services.config.CONTROL_TABLE));
    expect((await apiRequests('audited')).length).toBeGreaterThanOrEqual(8);
    expect(stored).not.toContain(token);
    expect(logged.join('')).not.toContain(token);
    // Nor the self-audit channel the records went through (the journal; the log line on AWS).
    const journal = readFileSync(service.env.SELF_AUDIT_JOURNAL as string, 'utf8');
    expect(journal).toContain('/api/v1/audit_trail/missing');
    expect(journal).not.toContain(token);
  });
});
