import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb-tenant-store.js';
import { loadConfig } from '../../lambdas/composition/config.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

describe('Tenant settings: deployment defaults', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('reads DEFAULT_RETENTION_DAYS and ARCHIVE_ENABLED from the environment, with 365 and true by default', () => {
    const base = { EVENTS_TABLE: 'eee', CONTROL_TABLE: 'ccc', CURSOR_KEY: 'x' };
    expect(loadConfig(base)).toMatchObject({ DEFAULT_RETENTION_DAYS: 365, ARCHIVE_ENABLED: true });
    expect(loadConfig({ ...base, DEFAULT_RETENTION_DAYS: '30', ARCHIVE_ENABLED: 'false' })).toMatchObject({
      DEFAULT_RETENTION_DAYS: 30,
      ARCHIVE_ENABLED: false,
    });
    expect(() => loadConfig({ ...base, ARCHIVE_ENABLED: 'maybe' })).toThrow(/ARCHIVE_ENABLED/);
    expect(() => loadConfig({ ...base, DEFAULT_RETENTION_DAYS: '0' })).toThrow(/DEFAULT_RETENTION_DAYS/);
  });

  it("applies the deployment's defaults until a tenant chooses its own", async () => {
    // Prepare
    const store = new DynamoDbTenantStore(service.services.doc, {
      controlTable: service.env.CONTROL_TABLE as string,
      defaults: { retentionDays: 30, archive: false },
    });
    await store.register('defaults-tenant', Date.now());

    // Act
    const before = await store.settings('defaults-tenant');
    await store.update('defaults-tenant', { retentionDays: 90 }, Date.now());
    const after = await store.settings('defaults-tenant');

    // Assess
    expect(before).toEqual({ retentionDays: 30, archive: false });
    expect(after).toEqual({ retentionDays: 90, archive: false });
  });
});
