import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InProcessJobLauncher } from '../../lambdas/adapters/in-process-job-launcher.js';
import { ROUTES } from '../../lambdas/routes.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { demoEvents } from '../../local/demo-data.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const NOW = Date.UTC(2026, 10, 1);
const FETCH = '/api/v1/audit_trail/fetch';
const EVENTS = '/api/v1/audit_trail/events';
const PURGE = '/api/v1/audit_trail/purge';
const DOWNLOAD = '/api/v1/audit_trail/download/json';

/** A raw HTTP/1.1 request, for headers fetch() will not send (Host). */
const rawRequest = (
  url: string,
  options: { method: string; path: string; headers: Record<string, string> },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = httpRequest({ hostname, port, ...options }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });

/**
 * How the HTTP layer answers what openapi.json promises: absolute job URLs, HEAD and OPTIONS, the
 * one integer grammar, media types and body limits of ingest and purge. Every answer also passes
 * the validator in `request()` (documented status, body and headers).
 */
describe('HTTP conformance', () => {
  let service: TestService;
  let token: string;
  let jwt: string;

  beforeAll(async () => {
    // Every purge and download becomes a job, so their 202s can be checked.
    service = await startTestService({
      config: { PURGE_REQUEST_BUDGET_MS: '0', DOWNLOAD_REQUEST_BUDGET_MS: '0' },
    });
    token = await service.token('conf', ['admin']);
    const app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'conf', scopes: ['read'] },
      service.services.tenants,
    );
    jwt = await koreJwt(app.appId, app.clientSecret);
    await service.services.events.append('conf', demoEvents({ count: 120, days: 2, now: NOW }));
  });
  afterAll(async () => {
    const { jobs } = service;
    if (jobs instanceof InProcessJobLauncher) await jobs.idle();
    await service.stop();
  });

  describe('202 answers', () => {
    it("give an absolute Location built from the request's host, and Retry-After", async () => {
      // Act
      const download = await service.get(DOWNLOAD, {}, { 'x-api-key': token });
      const viaHost = await rawRequest(service.url, {
        method: 'GET',
        path: DOWNLOAD,
        headers: { host: 'audit.example.com:8443', 'x-api-key': token },
      });

      // Assess
      expect(download.status).toBe(202);
      const jobId = (download.body as { job_id: string }).job_id;
      expect(download.headers.get('location')).toBe(
        `${service.url}/api/v1/audit_trail/download/jobs/${jobId}`,
      );
      expect(download.headers.get('retry-after')).toBe('5');
      expect(viaHost.status).toBe(202);
      expect(viaHost.headers.location).toMatch(
        /^http:\/\/audit\.example\.com:8443\/api\/v1\/audit_trail\/download\/jobs\/exp_/,
      );
    });

    it('of a running export job repeat its absolute Location', async () => {
      // Prepare: a tenant of its own, so the download starts a new job (none to reuse).
      await service.services.events.append('conf-job', demoEvents({ count: 50, days: 1, now: NOW, seed: 9 }));
      const jobToken = await service.token('conf-job', ['download']);
      const download = await service.get(DOWNLOAD, {}, { 'x-api-key': jobToken });
      const location = download.headers.get('location') ?? '';

      // Act
      const status = await service.get(new URL(location).pathname, {}, { 'x-api-key': jobToken });

      // Assess: still running (the same absolute Location), or done (303 to the zip).
      expect(download.status).toBe(202);
      expect([202, 303]).toContain(status.status);
      const expected =
        status.status === 202 ? location : expect.stringContaining('canary_audit_trail.json.zip');
      expect(status.headers.get('location')).toEqual(expected);
    });

    it('of a purge give the absolute Location of its job, with a trailing slash or without', async () => {
      // Prepare: two tenants with 100 entries each, so each purge is a job of its own.
      const purges = await Promise.all(
        [PURGE, `${PURGE}/`].map(async (path, index) => {
          const tenant = `conf-purge-${index}`;
          const records = await service.services.events.append(
            tenant,
            demoEvents({ count: 100, days: 1, now: NOW, seed: 70 + index }),
          );
          const through = Math.max(...records.flatMap((record) => (record ? [record.id] : [])));
          return { path, through, token: await service.token(tenant, ['purge']) };
        }),
      );

      // Act
      const answers = await Promise.all(
        purges.map(async ({ path, through, token: purgeToken }) => ({
          through,
          answer: await service.request('POST', path, {
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-key': purgeToken },
            body: `id=${through}`,
          }),
        })),
      );

      // Assess
      for (const { through, answer } of answers) {
        expect(answer.status).toBe(202);
        expect(answer.headers.get('location')).toBe(`${service.url}${PURGE}/pj-${through}`);
        expect(answer.headers.get('retry-after')).toBe('5');
      }
    });
  });

  describe('methods', () => {
    it('answers HEAD wherever GET is served: same status and headers, no body', async () => {
      for (const route of ROUTES.filter((candidate) => candidate.method === 'GET')) {
        // Prepare
        const path = route.path.replace('{job}', 'pj-404').replace('{key}', 'nothing');
        const headers: Record<string, string> = route.path.startsWith('/api/public/')
          ? { auth: jwt }
          : { 'x-api-key': token };

        // Act
        const get = await service.get(path, {}, headers);
        const head = await service.request('HEAD', path, { headers });

        // Assess
        expect([route.path, head.status, head.text]).toEqual([route.path, get.status, '']);
        expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      }
    });

    it('answers OPTIONS on a served path with 204 and Allow, and no CORS header while CORS is off', async () => {
      // Act
      const fetchOptions = await service.request('OPTIONS', FETCH, {
        headers: {
          origin: 'https://console.example.com',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-api-key',
        },
      });
      const eventsOptions = await service.request('OPTIONS', EVENTS);
      const nowhere = await service.request('OPTIONS', '/api/v1/nowhere');

      // Assess
      expect(fetchOptions.status).toBe(204);
      expect(fetchOptions.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect([...fetchOptions.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual(
        [],
      );
      expect(eventsOptions.headers.get('allow')).toBe('POST, OPTIONS');
      expect(nowhere.status).toBe(404);
    });

    it.each([
      ['PUT', FETCH, 'GET, HEAD, OPTIONS'],
      ['DELETE', EVENTS, 'POST, OPTIONS'],
      ['PATCH', '/api/public/auditlogs', 'GET, HEAD, OPTIONS'],
      ['POST', '/openapi.json', 'GET, HEAD, OPTIONS'],
    ])('answers %s %s with 405 and Allow', async (method, path, allow) => {
      // Act
      const response = await service.request(method, path, { headers: { 'x-api-key': token } });

      // Assess
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
    });
  });

  describe('one integer grammar for every numeric parameter', () => {
    const cases: [string, string, string, () => Record<string, string>][] = [
      ['canary limit', FETCH, 'limit', () => ({ 'x-api-key': token })],
      ['kore size', '/api/public/auditlogs', 'size', () => ({ auth: jwt })],
      ['kore offset', '/api/public/auditlogs', 'offset', () => ({ auth: jwt })],
      ['kore fetchAfter', '/api/public/auditlogs', 'fetchAfter', () => ({ auth: jwt })],
      ['api-key page[size]', '/api/v1/audit-trail', 'page[size]', () => ({ 'x-api-key': token })],
    ];

    it.each(cases)(
      '%s reads 5 and refuses every other spelling of it',
      async (_name, path, parameter, headers) => {
        // Act
        const canonical = await service.get(path, { [parameter]: '5' }, headers());
        const others = await Promise.all(
          ['05', '0005', '00005', '+5', '5.0', '5e0', ' 5', '0x5'].map(
            async (text) =>
              [text, (await service.get(path, { [parameter]: text }, headers())).status] as const,
          ),
        );

        // Assess
        expect(canonical.status).toBe(200);
        expect(others).toEqual(others.map(([text]) => [text, 400]));
      },
    );

    it('purge id refuses leading zeros too', async () => {
      // Act
      const response = await service.request('POST', PURGE, {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-key': token },
        body: 'id=0000',
      });

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ result: 'error', message: expect.stringContaining('id must be') });
    });
  });

  describe('request bodies', () => {
    const event = { action_type: 'user_login', message: 'conformance' };

    it.each([
      ['text/plain', 'text/plain'],
      ['a form', 'application/x-www-form-urlencoded'],
      ['no type at all', ''],
    ])('ingest refuses %s with 415', async (_name, type) => {
      // Act
      const response = await service.request('POST', EVENTS, {
        headers: { 'x-api-key': token, ...(type ? { 'content-type': type } : {}) },
        body: Buffer.from(JSON.stringify({ events: [event] })),
      });

      // Assess
      expect(response.status).toBe(415);
      expect(response.body).toEqual({
        result: 'error',
        message: expect.stringContaining('application/json'),
      });
    });

    it('ingest takes application/json with parameters', async () => {
      // Act
      const response = await service.request('POST', EVENTS, {
        headers: { 'x-api-key': token, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ events: [event] }),
      });

      // Assess
      expect(response.status).toBe(201);
    });

    it('ingest answers 413 (not 400) to a body over 1 MB', async () => {
      // Act
      const response = await service.request('POST', EVENTS, {
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ ...event, message: 'x'.repeat(1024 * 1024) }] }),
      });

      // Assess
      expect(response.status).toBe(413);
    });

    it('ingest answers a replay with the same 201 and Idempotent-Replayed', async () => {
      // Prepare
      const send = () =>
        service.request('POST', EVENTS, {
          headers: {
            'x-api-key': token,
            'content-type': 'application/json',
            'idempotency-key': 'conf-replay-1',
          },
          body: JSON.stringify({ events: [event] }),
        });

      // Act
      const first = await send();
      const replay = await send();

      // Assess
      expect([first.status, replay.status]).toEqual([201, 201]);
      expect(replay.body).toEqual(first.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('refuses a body over 10 MB (the gateway limit) with 413 in the dialect shape', async () => {
      // Act
      const response = await service.request('POST', PURGE, {
        headers: { 'x-api-key': token, 'content-type': 'application/x-www-form-urlencoded' },
        body: `id=1&pad=${'x'.repeat(10 * 1024 * 1024)}`,
      });

      // Assess
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ result: 'error', message: 'The request is larger than 10 MB' });
    });

    it('purge refuses a JSON body with 415 instead of ignoring it', async () => {
      // Act
      const response = await service.request('POST', PURGE, {
        query: { id: '0' },
        headers: { 'x-api-key': token, 'content-type': 'application/json' },
        body: '{"id": 0}',
      });

      // Assess
      expect(response.status).toBe(415);
    });
  });
});
