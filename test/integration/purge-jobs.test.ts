import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { InProcessJobLauncher } from '../../lambdas/adapters/in-process-job-launcher.js';
import { purgeDependencies } from '../../lambdas/composition/purge.js';
import { PURGE_ACTION, purgeJobId } from '../../lambdas/domain/purge.js';
import { DAY_MS } from '../../lambdas/domain/time.js';
import { handler as retention } from '../../lambdas/handlers/purge-scheduler.js';
import { startPurge } from '../../lambdas/use-cases/purge-entries.js';
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
const ARCHIVES = '/api/v1/audit_trail/archives';
const NOW = Date.UTC(2026, 10, 1);

/** This file's service settings (see startTestService). */
const CONFIG: TestConfig = {
  // No time budget in requests: every purge does one batch, answers 202 and goes on in the worker.
  PURGE_REQUEST_BUDGET_MS: '0',
  PURGE_PART_ENTRIES: '50',
};

const lambdaContext = (budgetMs: number): Context => {
  const deadline = Date.now() + budgetMs;
  return {
    functionName: 'test',
    awsRequestId: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as Context;
};

describe('purge jobs, archives and retention', () => {
  let service: TestService;
  const idle = async () => {
    const { jobs } = service;
    if (jobs instanceof InProcessJobLauncher) await jobs.idle();
  };

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
  });
  afterAll(async () => {
    await idle();
    await service.stop();
  });

  describe('a purge longer than the request budget', () => {
    let token: string;
    let through: number;
    let before: Awaited<ReturnType<typeof allEntries>>;
    let response: Awaited<ReturnType<TestService['request']>>;

    beforeAll(async () => {
      token = await service.token('long', ['purge', 'download', 'read']);
      await seed(service.services, 'long', demoEvents({ count: 300, days: 10, now: NOW, seed: 21 }));
      before = await allEntries(service.services, 'long');
      through = before[279]?.id ?? -1;
      response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));
    });

    it('answers 202 with the job id, the absolute Location of its status and Retry-After', () => {
      expect(response.status).toBe(202);
      expect(response.headers.get('location')).toBe(`${service.url}${PURGE}/${purgeJobId(through)}`);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(response.body).toEqual({
        result: 'success',
        message: expect.stringContaining(`${PURGE}/${purgeJobId(through)}`),
        deleted: expect.any(Number),
        job_id: purgeJobId(through),
        status: 'running',
      });
      expect((response.body as { deleted: number }).deleted).toBeLessThan(280);
    });

    it('is finished by the worker: status completed, entries gone, archive and counters exact', async () => {
      // Act
      await idle();
      const status = await service.get(`${PURGE}/${purgeJobId(through)}`, { auth_token: token });

      // Assess
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({
        result: 'success',
        job_id: purgeJobId(through),
        status: 'completed',
        through_id: through,
        deleted: 280,
        last_deleted_id: through,
        archive: `${purgeJobId(through)}.manifest.json`,
      });
      const after = await allEntries(service.services, 'long');
      expect(after.filter((entry) => entry.id <= through)).toEqual([]);
      expect(since(before, after)).toEqual({
        kept: before.slice(280),
        added: [PURGE_ACTION, `POST ${PURGE} 202`, `GET ${PURGE}/${purgeJobId(through)} 200`].sort(),
      });
      expect(await archivedLines(service, token)).toEqual(linesOf(before.slice(0, 280)));
      expect(await counterMismatches(service.services, 'long')).toEqual([]);
    });

    it('lists one archive object per part with its id range, count and checksum', async () => {
      // Act
      const listing = await service.get(ARCHIVES, { auth_token: token });

      // Assess
      const archives = (listing.body as { archives: { count: number; first_id: number; last_id: number }[] })
        .archives;
      expect(listing.status).toBe(200);
      expect(archives).toHaveLength(Math.ceil(280 / 50));
      expect(archives.reduce((sum, archive) => sum + archive.count, 0)).toBe(280);
      expect(archives[0]).toEqual({
        key: `${purgeJobId(through)}.${String(before[0]?.id).padStart(16, '0')}.jsonl.gz`,
        job_id: purgeJobId(through),
        created: expect.any(String),
        count: 50,
        first_id: before[0]?.id,
        last_id: before[49]?.id,
        size: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        manifest: `${purgeJobId(through)}.manifest.json`,
      });
    });

    it('answers an archive key with 303 to a presigned GET of at most 5 minutes, as an attachment', async () => {
      // Prepare
      const listing = (await service.get(ARCHIVES, { auth_token: token })).body as {
        archives: { key: string }[];
      };
      const key = listing.archives[0]?.key ?? '';

      // Act
      const response = await service.get(`${ARCHIVES}/${key}`, { auth_token: token });

      // Assess
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location') ?? '');
      expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
      expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeGreaterThan(0);
      expect(location.searchParams.get('response-content-disposition')).toBe(`attachment; filename="${key}"`);
      expect(location.pathname).toContain('/tenants/long/purges/');
      expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    });

    it('hides the job and its archives from another tenant (404s, empty list)', async () => {
      // Prepare
      const stranger = await service.token('stranger', ['purge', 'download', 'read']);
      const key = `${purgeJobId(through)}.${String(before[0]?.id).padStart(16, '0')}.jsonl.gz`;

      // Act
      const job = await service.get(`${PURGE}/${purgeJobId(through)}`, { auth_token: stranger });
      const list = await service.get(ARCHIVES, { auth_token: stranger });
      const part = await service.get(`${ARCHIVES}/${key}`, { auth_token: stranger });
      const manifest = await service.get(`${ARCHIVES}/${purgeJobId(through)}.manifest.json`, {
        auth_token: stranger,
      });

      // Assess
      expect(job.status).toBe(404);
      expect(job.body).toEqual({ result: 'error', message: expect.any(String) });
      expect(list.body).toEqual({ result: 'success', archives: [] });
      expect(part.status).toBe(404);
      expect(part.body).toEqual({ result: 'error', message: `No archive ${key}` });
      expect(manifest.status).toBe(404);
    });
  });

  it('answers a parent-directory key with 404 in the canary error shape, never reaching S3', async () => {
    const token = await service.token('keys', ['download']);
    const response = await service.get(`${ARCHIVES}/..%2F..%2Fpj-1.manifest.json`, { auth_token: token });
    const dots = await service.get(`${ARCHIVES}/pj-1.%2E%2E.jsonl.gz`, { auth_token: token });
    expect(response.status).toBe(404);
    expect(dots.status).toBe(404);
    expect(dots.body).toEqual({ result: 'error', message: 'No archive pj-1....jsonl.gz' });
  });

  it.each([
    ['encoded path', '..%2F..%2Ftenants%2Flong%2Fpurges'],
    ['another prefix', 'tenants%2Flong%2Fpurges%2Fpj-1%2Fmanifest.json'],
    ['not a key', 'whatever.jsonl.gz'],
  ])('answers an archive key that is a %s with 404, like malformed job ids', async (_name, key) => {
    const token = await service.token('keys', ['download']);
    const response = await service.get(`${ARCHIVES}/${key}`, { auth_token: token });
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ result: 'error', message: expect.stringContaining('No archive') });
  });

  it.each([
    ['unknown', 'pj-12345'],
    ['malformed', 'job-1'],
  ])('answers a %s job id with 404', async (_name, job) => {
    const token = await service.token('jobs', ['purge']);
    const response = await service.get(`${PURGE}/${job}`, { auth_token: token });
    expect(response.status).toBe(404);
    expect((response.body as { result: string }).result).toBe('error');
  });

  it('needs the purge scope for job status and the download scope for archives (403)', async () => {
    const token = await service.token('scopes', ['ingest']);
    expect((await service.get(`${PURGE}/pj-1`, { auth_token: token })).status).toBe(403);
    expect((await service.get(ARCHIVES, { auth_token: token })).status).toBe(403);
    expect((await service.get(`${ARCHIVES}/pj-1.manifest.json`, { auth_token: token })).status).toBe(403);
  });

  it('refuses a second purge while another has not finished (409 naming it), and resumes the first', async () => {
    // Prepare
    const token = await service.token('busy', ['purge']);
    await seed(service.services, 'busy', demoEvents({ count: 100, days: 5, now: NOW, seed: 22 }));
    const entries = await allEntries(service.services, 'busy');
    const first = entries[49]?.id ?? -1;
    await startPurge(purgeDependencies(service.services.config), {
      tenant: 'busy',
      throughId: first,
      requester: { kind: 'token', tokenId: 'tok_x', tokenName: 'x' },
    });

    // Act
    const second = await service.request(
      'POST',
      PURGE,
      form({ auth_token: token, id: String(entries[89]?.id) }),
    );
    const resumed = await service.request('POST', PURGE, form({ auth_token: token, id: String(first) }));
    await idle();

    // Assess
    expect(second.status).toBe(409);
    expect(second.body).toEqual({ result: 'error', message: expect.stringContaining(`id=${first}`) });
    expect([200, 202]).toContain(resumed.status);
    const after = await allEntries(service.services, 'busy');
    expect(after.filter((entry) => entry.id <= first)).toEqual([]);
    expect(since(entries, after)).toEqual({
      kept: entries.slice(50),
      added: [PURGE_ACTION, `POST ${PURGE} 409`, `POST ${PURGE} ${resumed.status}`].sort(),
    });
    expect(await counterMismatches(service.services, 'busy')).toEqual([]);
  });

  it('retention purges each tenant through its retention days, and records it', async () => {
    // Prepare
    const now = Date.now();
    await service.token('keeper', ['read']);
    await service.services.tenants.update('keeper', { retentionDays: 30 }, now);
    await seed(service.services, 'keeper', demoEvents({ count: 200, days: 60, now, seed: 23 }));
    const before = await allEntries(service.services, 'keeper');
    const cutoff = now - 30 * DAY_MS;
    const old = before.filter((entry) => entry.timestamp < cutoff);

    // Act
    const summary = await retention({}, lambdaContext(60_000));
    await idle();

    // Assess
    expect(old.length).toBeGreaterThan(0);
    expect(summary.failed).toBe(0);
    const after = await allEntries(service.services, 'keeper');
    expect(after.filter((entry) => entry.timestamp < cutoff)).toEqual([]);
    // No HTTP call was made for this tenant: the purge record is the only entry added.
    expect(since(before, after)).toEqual({
      kept: before.filter((entry) => entry.timestamp >= cutoff),
      added: [PURGE_ACTION],
    });
    const record = after.find((entry) => entry.action_type === PURGE_ACTION);
    expect(record).toMatchObject({
      user: 'retention scheduler',
      additional_information: { deleted: old.length, started_by: 'retention' },
    });
    expect(await counterMismatches(service.services, 'keeper')).toEqual([]);
  });
});
