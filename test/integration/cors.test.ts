import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService, type TestService } from '../helpers/local-service.js';

const ALLOWED = 'https://console.example.com';
const FETCH = '/api/v1/audit_trail/fetch';

/** CORS switched on with an allow-list (the construct's `corsAllowOrigins`, `CORS_ALLOW_ORIGINS`). */
describe('CORS with an allow-list of origins', () => {
  let service: TestService;
  let token: string;

  beforeAll(async () => {
    service = await startTestService({ corsAllowOrigins: [ALLOWED, 'http://localhost:5173'] });
    token = await service.token('cors', ['read']);
  });
  afterAll(async () => service.stop());

  const preflight = (origin: string, path = FETCH) =>
    service.request('OPTIONS', path, {
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'X-API-Key, X-Custom',
      },
    });

  it('answers the preflight of an allowed origin', async () => {
    // Act
    const response = await preflight(ALLOWED);

    // Assess
    expect(response.status).toBe(204);
    expect(
      Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-'))),
    ).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-methods': 'GET, HEAD, OPTIONS',
      'access-control-allow-headers': 'x-api-key',
      'access-control-max-age': '600',
    });
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('gives another origin no CORS header, on the preflight or the answer', async () => {
    // Act
    const denied = await preflight('https://evil.example.com');
    const answer = await service.get(FETCH, {}, { 'x-api-key': token, origin: 'https://evil.example.com' });

    // Assess
    for (const response of [denied, answer])
      expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(answer.status).toBe(200);
  });

  it('names an allowed origin on answers and errors of every kind, exposing the headers clients read', async () => {
    // Act
    const ok = await service.get(FETCH, {}, { 'x-api-key': token, origin: ALLOWED });
    const unauthorized = await service.get(FETCH, {}, { origin: ALLOWED });
    const missing = await service.get('/api/v1/nowhere', {}, { origin: ALLOWED });
    const wrongMethod = await service.request('DELETE', FETCH, { headers: { origin: ALLOWED } });

    // Assess
    for (const response of [ok, unauthorized, missing, wrongMethod]) {
      expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(response.headers.get('access-control-expose-headers')).toContain('retry-after');
      expect(response.headers.get('access-control-expose-headers')).toContain('location');
      expect(response.headers.get('vary')).toContain('Origin');
    }
    expect([ok.status, unauthorized.status, missing.status, wrongMethod.status]).toEqual([
      200, 401, 404, 405,
    ]);
  });

  it('answers the preflight of a POST endpoint with its methods and the headers asked for', async () => {
    // Act
    const response = await service.request('OPTIONS', '/api/v1/audit_trail/events', {
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key,authorization',
      },
    });

    // Assess
    expect(response.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'content-type, idempotency-key, authorization',
    );
  });
});
