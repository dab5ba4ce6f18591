import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PURGE_ACTION, purgeJobId } from '../../lambdas/domain/purge.js';
import { type AuditRecord, hashRecord } from '../../lambdas/domain/record.js';
import { UNAUTHENTICATED_TENANT } from '../../lambdas/http/self-audit.js';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestConfig, type TestService } from '../helpers/local-service.js';
import {
  allEntries,
  archivedLines,
  counterMismatches,
  form,
  linesOf,
  seed,
  since,
} from '../helpers/purge-fixtures.js';

const PURGE = '/api/v1/audit_trail/purge';
const NOW = Date.UTC(2026, 10, 1);

/** This file's service settings (see startTestService). */
const CONFIG: TestConfig = {
  // Small parts so that a few hundred entries span several parts, each of several batches.
  PURGE_PART_ENTRIES: '150',
  // Purges here finish within the request (the 202 path is in purge-jobs.test.ts).
  PURGE_REQUEST_BUDGET_MS: '25000',
};

describe('POST /api/v1/audit_trail/purge', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
  });
  afterAll(async () => service.stop());

  it('deletes every entry up to id (inclusive), archives them first and records the purge', async () => {
    // Prepare
    const token = await service.token('acme', ['purge', 'read', 'download']);
    await seed(service.services, 'acme', demoEvents({ count: 400, days: 20, now: NOW, seed: 7 }));
    const before = await allEntries(service.services, 'acme');
    const through = before[249]?.id ?? -1;

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      result: 'success',
      message: `Purged 250 audit trail entries with id up to ${through}`,
      deleted: 250,
      job_id: purgeJobId(through),
      archive: `${purgeJobId(through)}.manifest.json`,
    });
    const after = await allEntries(service.services, 'acme');
    expect(after.filter((entry) => entry.id <= through)).toEqual([]);
    expect(since(before, after)).toEqual({
      kept: before.slice(250),
      added: [PURGE_ACTION, `POST ${PURGE} 200`].sort(),
    });
    expect(await counterMismatches(service.services, 'acme')).toEqual([]);
    expect(await archivedLines(service, token)).toEqual(linesOf(before.slice(0, 250)));
    const record = after.find((entry) => entry.action_type === PURGE_ACTION);
    expect(record?.id).toBeGreaterThan(through);
    expect(record?.api_key?.name).toBeDefined();
    expect(record?.additional_information).toEqual({
      job_id: purgeJobId(through),
      through_id: through,
      deleted: 250,
      archive: `${purgeJobId(through)}.manifest.json`,
      started_by: record?.api_key?.id,
    });
  });

  it('deletes nothing more when the same purge is asked again, and says deleted: 0', async () => {
    // Prepare
    const token = await service.token('again', ['purge']);
    await seed(service.services, 'again', demoEvents({ count: 60, days: 2, now: NOW, seed: 8 }));
    const through = (await allEntries(service.services, 'again'))[29]?.id ?? -1;
    await service.request('POST', PURGE, { query: { auth_token: token, id: String(through) } });
    const between = await allEntries(service.services, 'again');

    // Act
    const response = await service.request('POST', PURGE, {
      query: { auth_token: token, id: String(through) },
    });

    // Assess
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(0);
    // Nothing deleted or changed, and no second purge record: only the call itself is recorded.
    expect(since(between, await allEntries(service.services, 'again'))).toEqual({
      kept: between,
      added: [`POST ${PURGE} 200`],
    });
    expect(between.filter((entry) => entry.action_type === PURGE_ACTION)).toHaveLength(1);
  });

  it('archives nothing for a tenant that keeps no archives, and still keeps counters exact', async () => {
    // Prepare
    const token = await service.token('noarchive', ['purge', 'download']);
    await service.services.tenants.update('noarchive', { archive: false }, Date.now());
    await seed(service.services, 'noarchive', demoEvents({ count: 120, days: 3, now: NOW, seed: 9 }));
    const through = (await allEntries(service.services, 'noarchive'))[99]?.id ?? -1;

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Assess
    expect(response.body).toMatchObject({ deleted: 100, archive: null });
    expect(await archivedLines(service, token)).toEqual([]);
    expect(await counterMismatches(service.services, 'noarchive')).toEqual([]);
  });

  describe('refuses bad requests in the canary error shape, deleting nothing', () => {
    let token: string;
    let readOnly: string;
    let seeded: AuditRecord[];
    beforeAll(async () => {
      token = await service.token('careful', ['purge']);
      readOnly = await service.token('careful', ['read']);
      await seed(service.services, 'careful', demoEvents({ count: 20, days: 1, now: NOW, seed: 10 }));
      seeded = await allEntries(service.services, 'careful');
    });
    const entries = async () => allEntries(service.services, 'careful');

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['not a number', 'abc'],
      ['negative', '-1'],
      ['fractional', '1.5'],
      ['exponent', '1e3'],
      ['beyond 2^53 − 1', '9007199254740992'],
      ['huge', '123456789012345678901234567890'],
      ['with spaces', ' 12'],
    ])('id %s → 400 naming id', async (_name, id) => {
      // Prepare
      const earlier = await entries();

      // Act
      const response = await service.request(
        'POST',
        PURGE,
        form({ auth_token: token, ...(id !== undefined ? { id } : {}) }),
      );

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ result: 'error', message: expect.stringMatching(/\bid\b/) });
      const after = await entries();
      expect(seeded).toHaveLength(20);
      expect(since(seeded, after).kept).toEqual(seeded);
      expect(since(earlier, after)).toEqual({ kept: earlier, added: [`POST ${PURGE} 400`] });
    });

    it('a token without the purge scope → 403', async () => {
      // Prepare
      const earlier = await entries();

      // Act
      const response = await service.request(
        'POST',
        PURGE,
        form({ auth_token: readOnly, id: '999999999999' }),
      );

      // Assess
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ result: 'error', message: expect.stringContaining('purge') });
      const after = await entries();
      expect(since(seeded, after).kept).toEqual(seeded);
      expect(since(earlier, after)).toEqual({ kept: earlier, added: [`POST ${PURGE} 403`] });
    });

    it('no token → 401', async () => {
      // Prepare
      const earlier = await entries();
      const anonymous = await allEntries(service.services, UNAUTHENTICATED_TENANT);

      // Act
      const response = await service.request('POST', PURGE, form({ id: '999999999999' }));

      // Assess
      expect(response.status).toBe(401);
      expect((response.body as { result: string }).result).toBe('error');
      // The call is recorded under the unauthenticated tenant, not in 'careful'.
      expect(since(earlier, await entries())).toEqual({ kept: earlier, added: [] });
      expect(since(anonymous, await allEntries(service.services, UNAUTHENTICATED_TENANT))).toEqual({
        kept: anonymous,
        added: [`POST ${PURGE} 401`],
      });
    });

    it('GET instead of POST → 405 with Allow: POST, OPTIONS', async () => {
      // Prepare
      const earlier = await entries();

      // Act
      const response = await service.get(PURGE, { auth_token: token, id: '999999999999' });

      // Assess
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST, OPTIONS');
      expect((response.body as { result: string }).result).toBe('error');
      const after = await entries();
      expect(since(seeded, after).kept).toEqual(seeded);
      expect(since(earlier, after)).toEqual({ kept: earlier, added: [`GET ${PURGE} 405`] });
    });
  });

  it('deletes nothing newer than id while entries are being ingested', async () => {
    // Prepare
    const tenant = 'racing';
    const token = await service.token(tenant, ['purge']);
    await seed(service.services, tenant, demoEvents({ count: 300, days: 10, now: NOW, seed: 12 }));
    const old = await allEntries(service.services, tenant);
    const through = old[old.length - 1]?.id ?? -1;
    let ingesting = true;
    const ingested: number[] = [];
    const ingest = (async () => {
      let round = 0;
      while (ingesting || round < 5) {
        const batch = demoEvents({ count: 5, days: 1, now: Date.now(), seed: 100 + round }).map((draft) => ({
          ...draft,
          timestamp: undefined,
        }));
        for (const record of await service.services.events.append(tenant, batch)) {
          if (record) ingested.push(record.id);
        }
        round += 1;
      }
    })();

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));
    ingesting = false;
    await ingest;

    // Assess
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(300);
    const after = await allEntries(service.services, tenant);
    expect(after.filter((entry) => entry.id <= through)).toEqual([]);
    const survivors = new Set(after.map((entry) => entry.id));
    expect(ingested.length).toBeGreaterThan(0);
    expect(ingested.filter((id) => !survivors.has(id))).toEqual([]);
    expect(await counterMismatches(service.services, tenant)).toEqual([]);
  });

  it('archives lines that verify against their own hash', async () => {
    // Prepare
    const token = await service.token('verify', ['purge', 'download']);
    await seed(service.services, 'verify', demoEvents({ count: 30, days: 1, now: NOW, seed: 13 }));
    const through = (await allEntries(service.services, 'verify'))[29]?.id ?? -1;
    await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Act
    const lines = await archivedLines(service, token);

    // Assess
    expect(lines).toHaveLength(30);
    for (const line of lines) {
      const { hash, ...content } = JSON.parse(line) as { hash: string } & Parameters<typeof hashRecord>[0];
      expect(hashRecord(content)).toBe(hash);
    }
  });
});
