import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/**
 * Each dialect takes its credential only where its seed and openapi.json say: canary `auth_token`,
 * `x-api-key` or `Authorization: Bearer`; kore a JWT in `auth`; api-key `x-api-key`.
 */
describe('credentials per dialect', () => {
  let service: TestService;
  let token: string;
  let jwt: string;

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('creds', ['read', 'purge', 'ingest', 'download']);
    const app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'creds', scopes: ['read'] },
      service.services.tenants,
    );
    jwt = await koreJwt(app.appId, app.clientSecret);
  });
  afterAll(async () => service.stop());

  it.each([
    ['x-api-key', () => ({ headers: { 'x-api-key': token } })],
    ['Authorization: Bearer', () => ({ headers: { authorization: `Bearer ${token}` } })],
    ['auth_token', () => ({ query: { auth_token: token } })],
  ])('kore refuses a token sent as %s (it takes a JWT in auth only)', async (_name, send) => {
    // Act
    const response = await service.request('GET', '/api/public/auditlogs', send());

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      errors: [{ msg: 'No credentials were provided: send a JWT in the auth header', code: 401 }],
    });
  });

  it.each([
    ['Authorization: Bearer', () => ({ headers: { authorization: `Bearer ${token}` } })],
    ['auth_token', () => ({ query: { auth_token: token } })],
    ['a kore JWT in auth', () => ({ headers: { auth: jwt } })],
  ])('api-key refuses a credential sent as %s (it takes x-api-key only)', async (_name, send) => {
    // Act
    const response = await service.request('GET', '/api/v1/audit-trail', send());

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ message: 'Invalid token', name: 'Unauthorized', status: 401 });
  });

  it('canary refuses a kore JWT (its endpoints take tokens), wherever it is sent', async () => {
    // Act: its functions hold no JWT verifier, so the answers must be the token answers.
    const inAuth = await service.get('/api/v1/audit_trail/fetch', {}, { auth: jwt });
    const asApiKey = await service.get('/api/v1/audit_trail/fetch', {}, { 'x-api-key': jwt });
    const asBearer = await service.get(
      '/api/v1/audit_trail/download/json',
      {},
      { authorization: `Bearer ${jwt}` },
    );

    // Assess
    expect([inAuth.status, asApiKey.status, asBearer.status]).toEqual([401, 401, 401]);
    expect(inAuth.text).toBe(
      '{"result":"error","message":"No credentials were provided: pass auth_token, x-api-key or Authorization: Bearer"}',
    );
    for (const response of [asApiKey, asBearer])
      expect(response.text).toBe('{"result":"error","message":"The credentials provided are not valid"}');
  });

  it('answers each dialect through its own credentials, even when others are sent alongside', async () => {
    // Act
    const kore = await service.get('/api/public/auditlogs', {}, { auth: jwt, 'x-api-key': 'ats_unknown' });
    const apiKey = await service.get('/api/v1/audit-trail', {}, { 'x-api-key': token, auth: 'x.y.z' });
    const canaryForm = await service.request('POST', '/api/v1/audit_trail/purge', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `auth_token=${token}&id=0`,
    });

    // Assess
    expect(kore.status).toBe(200);
    expect(apiKey.status).toBe(200);
    expect(canaryForm.status).toBe(200);
  });
});
