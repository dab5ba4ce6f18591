import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROUTES } from '../../lambdas/routes.js';
import document from '../../openapi/openapi.json' with { type: 'json' };
import { startTestService, type TestService } from '../helpers/local-service.js';
import { checkResponse } from '../helpers/openapi-validator.js';

describe('the OpenAPI description', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('is served at /openapi.json without credentials', async () => {
    // Act
    const response = await service.get('/openapi.json');

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual(document);
    expect((response.body as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('documents every route the service serves', () => {
    // Prepare
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess
    for (const route of ROUTES) expect(documented).toContain(`${route.method} ${route.path}`);
  });

  it('documents the ingest, purge, download and archive endpoints being built alongside', () => {
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/audit_trail/events',
        '/api/v1/audit_trail/purge',
        '/api/v1/audit_trail/purge/{job}',
        '/api/v1/audit_trail/archives',
        '/api/v1/audit_trail/archives/{key}',
        '/api/v1/audit_trail/download/json',
        '/api/v1/audit_trail/download/jobs/{job}',
      ]),
    );
  });

  describe('rejects responses it does not describe', () => {
    const cases: [string, Parameters<typeof checkResponse>, string][] = [
      [
        'an undocumented status',
        ['GET', '/api/public/auditlogs', 500, 'application/json', { errors: [{ msg: 'x', code: 500 }] }],
        'status 500 is not documented',
      ],
      [
        'a body of the wrong shape',
        ['GET', '/api/public/auditlogs', 200, 'application/json', { total: 1, auditlogs: [] }],
        'does not match',
      ],
      [
        'an api-key 401 with another message',
        [
          'GET',
          '/api/v1/audit-trail',
          401,
          'application/json',
          { message: 'Unauthorized', name: 'Unauthorized', status: 401 },
        ],
        'does not match',
      ],
      [
        'an undocumented path answered 200',
        ['GET', '/api/v1/nowhere', 200, 'application/json', {}],
        'undocumented path',
      ],
      [
        'a 404 for an unknown path in the wrong dialect shape',
        ['GET', '/api/public/nowhere', 404, 'application/json', { result: 'error', message: 'x' }],
        'does not match',
      ],
    ];
    it.each(cases)('%s', (_name, args, message) => {
      expect(checkResponse(...args)).toContain(message);
    });
  });

  it('accepts the fallback 404 and 405 in the dialect shape', async () => {
    // Act
    const missing = await service.get('/api/public/nowhere');
    const wrongMethod = await service.request('POST', '/api/v1/audit-trail');

    // Assess
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ errors: [{ msg: expect.any(String), code: 404 }] });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });
});
