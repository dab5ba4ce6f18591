import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { dialectOfPath } from '../../lambdas/handlers/not-found.js';
import { ROUTES } from '../../lambdas/routes.js';
import { issueToken } from '../../lambdas/use-cases/manage-tokens.js';
import { demoEvents } from '../../local/demo-data.js';
import { batchWithOneBadEvent } from '../helpers/bad-events.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/**
 * Random and adversarial requests across every route of every dialect: odd encodings, huge values,
 * duplicated parameters, unicode, injection strings, wrong methods, bad credentials. The service
 * must never answer 5xx, every 4xx must be in its dialect's error shape, and the stored data must
 * not change (the fuzzing token can read and download, never purge or ingest). A second property
 * sends ingest batches that each hold one event the store could not take among good ones: every
 * one must be a 400 in the canary shape, and none of their events may be stored.
 */
const RUNS = 5000;
/** Ingest requests whose batch holds one event the store cannot take, among good ones. */
const BAD_BATCH_RUNS = 1000;
/** Entries the service writes about its own use (self-audit, downloads). */
const SERVICE_RECORDS = new Set(['api_request', 'audit_trail_downloaded']);

const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1.5',
    '1e3',
    '9007199254740993',
    '99999999999999999999999',
    'NaN',
    'null',
    'true',
    '[]',
    '{}',
    "' OR 1=1 --",
    '"; DROP TABLE events; --',
    '<script>alert(1)</script>',
    '../../etc/passwd',
    '%00',
    '%',
    '\u0000',
    '😀'.repeat(50),
    'ä'.repeat(300),
    'x'.repeat(5000),
    '2021-02-30',
    '2021-07-07T11:11:18.464Z',
    'Mars/Base',
    'Europe/London',
    'user_login',
    'alg:none',
    'eyJhbGciOiJub25lIn0.eyJhcHBJZCI6ImEifQ.',
  ),
);

const parameterNames = fc.oneof(
  fc.constantFrom(
    'limit',
    'cursor',
    'action_filter',
    'tz',
    'id',
    'auth_token',
    'size',
    'offset',
    'fromDate',
    'toDate',
    'fetchAfter',
    'filter[startDate]',
    'filter[endDate]',
    'filter[userApiKey._id]',
    'filter[foo]',
    'page[size]',
    'page[cursor]',
    'allowRedirect',
    '__proto__',
    'constructor',
  ),
  fc.string({ maxLength: 12 }),
);

const requestArbitrary = fc.record({
  routeIndex: fc.nat({ max: Math.max(0, ROUTES.length - 1) }),
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  pathMutation: fc.constantFrom('none', 'trailing-slash', 'suffix', 'param'),
  pathParameter: nasty,
  query: fc.array(fc.tuple(parameterNames, nasty), { maxLength: 6 }),
  credential: fc.constantFrom(
    'valid-query',
    'valid-header',
    'valid-bearer',
    'garbage',
    'none',
    'kore-garbage',
  ),
  body: fc.option(fc.oneof(nasty, fc.json({ maxDepth: 3 })), { nil: undefined }),
  contentType: fc.constantFrom(
    'application/json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'application/zip',
  ),
});

const isDialectError = (path: string, body: unknown): boolean => {
  if (typeof body !== 'object' || body === null) return false;
  const record = body as Record<string, unknown>;
  switch (dialectOfPath(path)) {
    case 'canary':
      return record.result === 'error' && typeof record.message === 'string';
    case 'apiKey':
      return (
        typeof record.name === 'string' && typeof record.status === 'number' && record.message !== undefined
      );
    case 'kore':
      return Array.isArray(record.errors) && record.errors.length > 0;
  }
};

describe('Fuzz: every route of every dialect', () => {
  let service: TestService;
  let token: string;
  let before: Map<number, string>;

  const storedEntries = async () => {
    const page = await service.services.events.queryPage({
      tenant: 'fuzz',
      selector: { kind: 'all' },
      minId: 0,
      maxId: Number.MAX_SAFE_INTEGER,
      newestFirst: true,
      limit: 10_000,
    });
    return page.records;
  };

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('fuzz', ['read', 'download']);
    await service.services.events.append(
      'fuzz',
      demoEvents({ count: 60, days: 2, now: Date.UTC(2026, 5, 1) }),
    );
    before = new Map((await storedEntries()).map((record) => [record.id, record.hash]));
  });
  afterAll(async () => service.stop());

  it(`answers ${RUNS} random requests without a 5xx, each error in its dialect's shape`, async () => {
    // Every call must be recorded: a failed self-audit write is logged, never surfaced to the caller.
    const logged: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    await fc
      .assert(
        fc.asyncProperty(requestArbitrary, async (input) => {
          const route = ROUTES[input.routeIndex % ROUTES.length];
          if (!route) return;
          let path = route.path.replace(
            /\{\w+\}/g,
            encodeURIComponent(input.pathParameter).slice(0, 200) || 'x',
          );
          if (input.pathMutation === 'trailing-slash') path += '/';
          if (input.pathMutation === 'suffix')
            path += `/${encodeURIComponent(input.pathParameter).slice(0, 50) || 'x'}`;
          const query: [string, string][] = [...input.query];
          const headers: Record<string, string> = {};
          if (input.credential === 'valid-query') query.push(['auth_token', token]);
          if (input.credential === 'valid-header') headers['x-api-key'] = token;
          if (input.credential === 'valid-bearer') headers.authorization = `Bearer ${token}`;
          if (input.credential === 'garbage') headers['x-api-key'] = 'not-a-real-token-at-all-0000';
          if (input.credential === 'kore-garbage') headers.auth = 'eyJhbGciOiJub25lIn0.eyJhcHBJZCI6ImEifQ.';
          const url = new URL(path, service.url);
          for (const [name, value] of query) url.searchParams.append(name, value);
          const method = input.method === 'HEAD' ? 'GET' : input.method;
          const body = method === 'GET' || input.body === undefined ? undefined : input.body;
          headers['content-type'] = input.contentType;
          const response = await fetch(url, {
            method,
            headers,
            redirect: 'manual',
            ...(body !== undefined ? { body } : {}),
          });
          const text = await response.text();
          if (response.status >= 500)
            throw new Error(`${method} ${url.pathname} answered ${response.status}: ${text.slice(0, 300)}`);
          if (response.status >= 400) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              throw new Error(`${method} ${url.pathname} answered ${response.status} with a non-JSON body`);
            }
            if (!isDialectError(url.pathname, parsed)) {
              throw new Error(
                `${method} ${url.pathname} answered ${response.status} outside its dialect's shape: ${text.slice(0, 300)}`,
              );
            }
            if (text.includes(token)) throw new Error('an error body echoed the credential');
          }
        }),
        { numRuns: RUNS, seed: 20261123 },
      )
      .finally(() => stdout.mockRestore());
    expect(logged.filter((line) => line.includes('self-audit record failed'))).toEqual([]);
    // Every seeded entry is still there, unchanged; anything new is the service's record of its own use.
    const after = await storedEntries();
    const afterHashes = new Map(after.map((record) => [record.id, record.hash]));
    expect([...before].filter(([id, hash]) => afterHashes.get(id) !== hash)).toEqual([]);
    const added = after.filter((record) => !before.has(record.id)).map((record) => record.action_type);
    expect(added.filter((action) => !SERVICE_RECORDS.has(action))).toEqual([]);
  }, 600_000);

  it('never stores or answers a credential, wherever in the request it is put', async () => {
    // Prepare: one credential of every format the dialects accept, and the cursor-signing key.
    const own = token;
    const stranger = await service.token('fuzz-other', ['read']);
    const custom = 'Fuzz-Custom-Format-Token-0123456789';
    await issueToken(
      service.services.tokens,
      { tenant: 'fuzz', scopes: ['read'], presetToken: custom },
      service.services.tenants,
    );
    const jwt = await koreJwt('cs-00000000-fuzz', 'a-client-secret-that-nobody-registered-000');
    const cursorKey = service.services.config.CURSOR_KEY ?? '';
    const secrets = { own, stranger, custom, jwt, cursorKey };
    type Secret = keyof typeof secrets;
    /** Secrets that are recognised by their shape even when the request authenticates otherwise. */
    const shaped: Secret[] = ['own', 'stranger', 'jwt', 'cursorKey'];
    const variant = fc.constantFrom(
      (text: string) => text,
      (text: string) => `   ${text}`,
      (text: string) => `${text}  `,
      (text: string) => text.toUpperCase(),
      (text: string) => text.toLowerCase(),
      (text: string) => `before-${text}-after`,
    );
    const placement = fc.constantFrom(
      'bare-name',
      'name',
      'value',
      'tz',
      'api-key-name',
      'api-key-user',
      'kore-date',
      'purge-job',
      'export-job',
      'archive-key',
      'unknown-path',
      'path-suffix',
    );
    const arbitrary = fc.record({
      secret: fc.constantFrom<Secret>('own', 'stranger', 'custom', 'jwt', 'cursorKey'),
      variant,
      placement,
      auth: fc.constantFrom('header', 'bearer', 'query', 'padded-query', 'kore', 'none'),
    });
    const calls: { secret: Secret; text: string }[] = [];
    await fc.assert(
      fc.asyncProperty(arbitrary, async (input) => {
        // A custom-format token has no shape: it is only recognised as the request's own credential.
        const secret = shaped.includes(input.secret) ? input.secret : 'custom';
        const placed = input.variant(secrets[secret]);
        const credential = shaped.includes(input.secret) ? own : custom;
        const query: [string, string][] = [];
        const headers: Record<string, string> = {};
        if (input.auth === 'header') headers['x-api-key'] = `  ${credential}`;
        if (input.auth === 'bearer') headers.authorization = `Bearer ${credential}`;
        if (input.auth === 'query') query.push(['auth_token', credential]);
        if (input.auth === 'padded-query') query.push(['auth_token', `   ${credential}  `]);
        if (input.auth === 'kore') headers.auth = jwt;
        if ((input.auth === 'none' || input.auth === 'kore') && secret === 'custom')
          headers['x-api-key'] = custom;
        let path = '/api/v1/audit_trail/fetch';
        const encoded = encodeURIComponent(placed.trim());
        switch (input.placement) {
          case 'bare-name':
            query.push([placed, '']);
            break;
          case 'name':
            query.push([`x[${placed}]`, '1']);
            break;
          case 'value':
            query.push(['note', placed]);
            break;
          case 'tz':
            query.push(['tz', placed]);
            break;
          case 'api-key-name':
            path = '/api/v1/audit-trail';
            query.push([placed, '1']);
            break;
          case 'api-key-user':
            path = '/api/v1/audit-trail';
            query.push(['filter[userApiKey._id]', placed]);
            break;
          case 'kore-date':
            path = '/api/public/auditlogs';
            query.push(['fromDate', placed]);
            break;
          case 'purge-job':
            path = `/api/v1/audit_trail/purge/${encoded}`;
            break;
          case 'export-job':
            path = `/api/v1/audit_trail/download/jobs/${encoded}`;
            break;
          case 'archive-key':
            path = `/api/v1/audit_trail/archives/${encoded}`;
            break;
          case 'unknown-path':
            path = `/api/v1/${encoded}`;
            break;
          case 'path-suffix':
            path = `/api/public/auditlogs/${encoded}`;
            break;
        }
        const url = new URL(path, service.url);
        for (const [name, value] of query) url.searchParams.append(name, value);
        const response = await fetch(url, { headers, redirect: 'manual' });
        const text = await response.text();
        calls.push({ secret, text });
        if (response.status >= 500)
          throw new Error(`${url.pathname} answered ${response.status}: ${text.slice(0, 300)}`);
        const distinctive = secrets[secret].slice(4, 28).toLowerCase();
        if (text.toLowerCase().includes(distinctive))
          throw new Error(
            `${url.pathname} (${input.placement}) answered ${response.status} with the credential`,
          );
      }),
      { numRuns: 400, seed: 20261130 },
    );

    // Assess: no item of either table holds any of the credentials, in any case.
    const stored: string[] = [];
    for (const table of [service.services.config.EVENTS_TABLE, service.services.config.CONTROL_TABLE]) {
      for await (const page of paginateScan(
        { client: service.services.doc },
        { TableName: table, ConsistentRead: true },
      )) {
        stored.push(JSON.stringify(page.Items ?? []).toLowerCase());
      }
    }
    const everything = stored.join('');
    expect(calls.length).toBe(400);
    for (const [name, secret] of Object.entries(secrets)) {
      const distinctive = secret.slice(4, 28).toLowerCase();
      const at = everything.indexOf(distinctive);
      expect([name, at < 0 ? 'not stored' : everything.slice(Math.max(0, at - 300), at + 100)]).toEqual([
        name,
        'not stored',
      ]);
    }
  }, 600_000);

  it(`answers ${BAD_BATCH_RUNS} ingest batches holding one bad event with a 400, storing none of them`, async () => {
    // Prepare
    const ingestToken = await service.token('fuzz-ingest', ['ingest']);
    const ingestRequest = fc.record({
      batch: batchWithOneBadEvent(),
      idempotencyKey: fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 128 }), nasty), {
        nil: undefined,
      }),
      // JSON content types only: anything else is a 415 before the body is read (http-conformance tests it).
      contentType: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/vnd.api+json',
      ),
      credential: fc.constantFrom('header', 'bearer', 'query'),
    });

    // Act
    await fc.assert(
      fc.asyncProperty(ingestRequest, async (input) => {
        const url = new URL('/api/v1/audit_trail/events', service.url);
        const headers: Record<string, string> = { 'content-type': input.contentType };
        if (input.credential === 'header') headers['x-api-key'] = ingestToken;
        if (input.credential === 'bearer') headers.authorization = `Bearer ${ingestToken}`;
        if (input.credential === 'query') url.searchParams.set('auth_token', ingestToken);
        if (input.idempotencyKey !== undefined) headers['idempotency-key'] = input.idempotencyKey;
        let response: Response;
        try {
          response = await fetch(url, { method: 'POST', headers, body: input.batch.body });
        } catch {
          return; // a header value fetch itself refuses to send (control characters)
        }
        const text = await response.text();

        // Assess
        if (response.status >= 500)
          throw new Error(`ingest answered ${response.status}: ${text.slice(0, 300)}`);
        if (response.status !== 400)
          throw new Error(`ingest answered ${response.status}, not 400: ${text.slice(0, 300)}`);
        const parsed = JSON.parse(text) as unknown;
        if (!isDialectError(url.pathname, parsed))
          throw new Error(`400 outside the canary shape: ${text.slice(0, 300)}`);
      }),
      { numRuns: BAD_BATCH_RUNS, seed: 20261130 },
    );

    // Assess: nothing of any batch was stored, and counters agree. Counters are exact once the
    // stream consumer has derived every write, the calls' own records included, which are stored
    // behind the answers (docs/architecture.md).
    await service.settle();
    const page = await service.services.events.queryPage({
      tenant: 'fuzz-ingest',
      selector: { kind: 'all' },
      minId: 0,
      maxId: Number.MAX_SAFE_INTEGER,
      newestFirst: true,
      limit: 10_000,
    });
    expect(page.records.filter((record) => !SERVICE_RECORDS.has(record.action_type))).toEqual([]);
    expect(await service.services.counters.total('fuzz-ingest', { kind: 'all' })).toBe(page.records.length);
  }, 600_000);
});
