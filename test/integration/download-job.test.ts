import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InProcessJobLauncher } from '../../lambdas/adapters/in-process-job-launcher.js';
import { newExportId } from '../../lambdas/domain/export.js';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import {
  DOWNLOAD,
  exportedEntries,
  fetchAll,
  getWithToken as get,
  type JobBody,
} from '../helpers/downloads.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const NOW = Date.UTC(2026, 10, 1);

describe('GET /api/v1/audit_trail/download/json (export jobs)', () => {
  let service: TestService;
  let launcher: InProcessJobLauncher;
  let token: string;

  beforeAll(async () => {
    // No request may export anything itself: every download becomes a job.
    service = await startTestService({ config: { DOWNLOAD_REQUEST_BUDGET_MS: '0' } });
    const { doc, config } = service.services;
    const { jobs } = service;
    if (!(jobs instanceof InProcessJobLauncher)) throw new Error('expected the in-process job launcher');
    launcher = jobs;
    const tables = { eventsTable: config.EVENTS_TABLE, controlTable: config.CONTROL_TABLE };
    await bulkWrite(doc, tables, 'acme', demoEvents({ count: 3000, days: 5, now: NOW }));
    await bulkWrite(doc, tables, 'globex', demoEvents({ count: 50, days: 5, now: NOW, seed: 9 }));
    // Exports plan their chunks from the rollup counters, which the stream consumer derives.
    await service.settle();
    token = await service.token('acme', ['download', 'read']);
    // Seeding 3,050 entries and deriving their counters takes seconds alone, longer on a busy machine.
  }, 180_000);
  afterAll(async () => {
    await launcher.idle();
    await service.stop();
  });

  it('answers 202 with the job status URL, then 303 to the finished export on the same request', async () => {
    // Act
    const first = await get(service, DOWNLOAD, token);
    await launcher.idle();
    const again = await get(service, DOWNLOAD, token);

    // Assess
    expect(first.response.status).toBe(202);
    const body = JSON.parse(first.text) as JobBody;
    expect(body).toMatchObject({
      result: 'success',
      status: 'running',
      job_id: expect.stringMatching(/^exp_/),
    });
    // Absolute (a strict client resolves nothing), built from the host the client called.
    expect(first.response.headers.get('location')).toBe(
      `${service.url}/api/v1/audit_trail/download/jobs/${body.job_id}`,
    );
    expect(first.response.headers.get('retry-after')).toBe('5');
    expect(again.response.status).toBe(303);
    const location = again.response.headers.get('location') ?? '';
    expect(location).toContain(`/exports/acme/${body.job_id}/canary_audit_trail.json.zip`);
    const { zip, document } = await exportedEntries(location);
    expect(zip.testOk).toBe(true);
    const exported = document.audit_trail;
    const ids = exported.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    // Exactly what fetch shows up to the job's snapshot (recorded with the download that served it).
    const trail = await fetchAll(service, token);
    const record = trail.find((entry) => entry.action_type === 'audit_trail_downloaded');
    expect(record?.additional_information).toMatchObject({
      mode: 'job',
      entries: exported.length,
      job_id: body.job_id,
      snapshot_max_id: ids[0],
    });
    expect(exported).toEqual(trail.filter((entry) => entry.id <= (ids[0] ?? 0)));
    // That is all 3000 seeded entries, plus at most the audited 202 call that started the job: the
    // worker starts before that call is recorded, so its snapshot may or may not include it.
    const ownCalls = exported.filter((entry) => entry.action_type === 'api_request');
    expect(exported.length - ownCalls.length).toBe(3000);
    expect(ownCalls.length).toBeLessThanOrEqual(1);
    expect(ownCalls.map((entry) => entry.message)).toEqual(
      [`GET ${DOWNLOAD} returned 202`].slice(0, ownCalls.length),
    );
    // Only the audited calls after the export came after its record: the 303 itself.
    expect(
      trail
        .filter((entry) => entry.id > (record?.id ?? Number.MAX_SAFE_INTEGER))
        .map((entry) => [entry.action_type, entry.message]),
    ).toEqual([['api_request', `GET ${DOWNLOAD} returned 303`]]);
    // The 202 call is in the trail in any case, older than the record.
    expect(
      trail.filter(
        (entry) => entry.action_type === 'api_request' && entry.message === `GET ${DOWNLOAD} returned 202`,
      ),
    ).toHaveLength(1);
  });

  it('serves the finished job from its status URL with a 303', async () => {
    // Prepare
    const latest = await service.services.exportJobs.latest('acme');

    // Act
    const status = await get(service, `/api/v1/audit_trail/download/jobs/${latest?.jobId}`, token);

    // Assess
    expect(latest?.status).toBe('completed');
    expect(status.response.status).toBe(303);
    expect(JSON.parse(status.text)).toMatchObject({ result: 'success', status: 'completed' });
    expect(status.response.headers.get('location')).toContain(`/exports/acme/${latest?.jobId}/`);
  });

  it('answers 202 with the same job while it runs instead of starting another', async () => {
    // Prepare: a running job, as a worker in progress leaves it.
    const now = Date.now();
    const jobId = newExportId(now + 60_000);
    await service.services.exportJobs.create({
      tenant: 'acme',
      jobId,
      status: 'running',
      createdAt: now,
      updatedAt: now,
    });

    // Act
    const download = await get(service, DOWNLOAD, token);
    const status = await get(service, `/api/v1/audit_trail/download/jobs/${jobId}`, token);

    // Assess
    expect(download.response.status).toBe(202);
    expect((JSON.parse(download.text) as JobBody).job_id).toBe(jobId);
    expect(status.response.status).toBe(202);
    expect(JSON.parse(status.text)).toMatchObject({ job_id: jobId, status: 'running' });
    await service.services.exportJobs.fail('acme', jobId, 'test over', Date.now());
  });

  it("answers 404 in canary shape for another tenant's job and for an unknown one", async () => {
    // Prepare
    const globexToken = await service.token('globex', ['download']);
    const acmeJob = await service.services.exportJobs.latest('acme');

    // Act
    const foreign = await get(service, `/api/v1/audit_trail/download/jobs/${acmeJob?.jobId}`, globexToken);
    const unknown = await get(service, '/api/v1/audit_trail/download/jobs/not-a-job', token);

    // Assess
    expect(acmeJob).toBeDefined();
    expect(foreign.response.status).toBe(404);
    expect(JSON.parse(foreign.text)).toEqual({
      result: 'error',
      message: expect.stringContaining('No export job'),
    });
    expect(unknown.response.status).toBe(404);
    expect(JSON.parse(unknown.text)).toMatchObject({ result: 'error' });
  });

  it('refuses the job status to a token without the download scope with 403', async () => {
    // Prepare
    const readOnly = await service.token('acme', ['read']);
    const acmeJob = await service.services.exportJobs.latest('acme');

    // Act
    const status = await get(service, `/api/v1/audit_trail/download/jobs/${acmeJob?.jobId}`, readOnly);

    // Assess
    expect(status.response.status).toBe(403);
    expect(JSON.parse(status.text)).toEqual({
      result: 'error',
      message: expect.stringContaining('download'),
    });
  });
});
