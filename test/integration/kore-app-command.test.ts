import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { koreAppCommand } from '../../scripts/kore-apps.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

describe('kore-app command', () => {
  let service: TestService;
  let lines: string[];

  const run = async (...args: string[]) => {
    lines = [];
    const command = koreAppCommand({
      store: async () => service.services.koreApps,
      print: (line) => lines.push(line),
    });
    command.exitOverride();
    await command.parseAsync(args, { from: 'user' });
    return lines;
  };

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('creates an app whose printed secret signs JWTs the kore endpoint accepts', async () => {
    // Act
    const output = await run('create', '--tenant', 'cli-tenant', '--name', 'SIEM export');
    const appId = output[0]?.replace('appId: ', '') ?? '';
    const secret = output[1]?.replace('clientSecret: ', '') ?? '';
    const response = await service.get('/api/public/auditlogs', {}, { auth: await koreJwt(appId, secret) });

    // Assess
    expect(appId).toMatch(/^cs-/);
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ total: 0, auditlogs: [], moreAvailable: false });
  });

  it('lists apps without their secrets, and revokes one so its JWTs stop working', async () => {
    // Prepare
    const created = await run('create', '--tenant', 'cli-revoke');
    const appId = created[0]?.replace('appId: ', '') ?? '';
    const secret = created[1]?.replace('clientSecret: ', '') ?? '';

    // Act
    const listed = await run('list', '--tenant', 'cli-revoke');
    await run('revoke', '--tenant', 'cli-revoke', '--app-id', appId);
    const response = await service.get('/api/public/auditlogs', {}, { auth: await koreJwt(appId, secret) });

    // Assess
    expect(listed).toHaveLength(1);
    expect(listed[0]).toContain(appId);
    expect(listed.join('\n')).not.toContain(secret);
    expect(response.status).toBe(401);
  });

  it('refuses to revoke another tenant’s app', async () => {
    // Prepare
    const created = await run('create', '--tenant', 'cli-owner');
    const appId = created[0]?.replace('appId: ', '') ?? '';

    // Act
    const attempt = run('revoke', '--tenant', 'cli-intruder', '--app-id', appId);

    // Assess
    await expect(attempt).rejects.toThrow('has no kore app');
    expect(await service.services.koreApps.findApp(appId)).toBeDefined();
  });
});
