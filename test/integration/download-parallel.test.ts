import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parallelExportDependencies } from '../../lambdas/composition/export-jobs.js';
import { TLOG_PROOF_FILE, verifyDownload } from '../../lambdas/domain/tlog/proof-file.js';
import { finishExport } from '../../lambdas/use-cases/finish-export.js';
import { planExport } from '../../lambdas/use-cases/plan-export.js';
import { runExportChunk } from '../../lambdas/use-cases/run-export-chunk.js';
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
import {
  createExportJob,
  EXPORT_JSON_NAME,
  runExportJobLocally,
  singleWorkerZip,
  storedZip,
} from '../helpers/parallel-export.js';
import { hasZip64End, readWithAll } from '../helpers/zip-readers.js';

const NOW = Date.UTC(2026, 10, 1);

/**
 * Parallel export jobs on the emulators: chunks of at most 700 entries, parts of at least 16 KiB
 * (s3rver accepts them; S3's 5 MiB minimum would need far more data), so 3000 entries make about
 * five chunks that run three at a time.
 */
describe('parallel export jobs', () => {
  let service: TestService;
  const seed = async (tenant: string, count: number, seedNumber: number) => {
    const records = await bulkWrite(
      service.services.doc,
      { eventsTable: service.services.config.EVENTS_TABLE },
      tenant,
      demoEvents({ count, days: 5, now: NOW, seed: seedNumber }),
    );
    // Exports plan their chunks from the rollup counters, which the stream consumer derives.
    await service.settle();
    return records;
  };

  beforeAll(async () => {
    service = await startTestService({
      config: {
        DOWNLOAD_REQUEST_BUDGET_MS: '0',
        EXPORT_MIN_PART_BYTES: '16384',
        EXPORT_CHUNK_MAX_ENTRIES: '700',
        EXPORT_CONCURRENCY: '3',
        EXPORT_RETRY_INTERVAL_MS: '10',
      },
    });
    await Promise.all([seed('acme', 3000, 1), seed('initech', 2500, 2), seed('zip64', 1800, 3)]);
    // Seeding thousands of entries takes long on a loaded machine; the tests themselves do not.
  }, 180_000);
  afterAll(async () => {
    await service.jobs.idle();
    await service.stop();
  });

  it('answers 202, then 303 to one zip of every entry up to the snapshot, made of several chunks', async () => {
    // Prepare
    const token = await service.token('acme', ['download', 'read']);

    // Act
    const first = await get(service, DOWNLOAD, token);
    await service.jobs.idle();
    const again = await get(service, DOWNLOAD, token);

    // Assess
    expect(first.response.status).toBe(202);
    const { job_id: jobId } = JSON.parse(first.text) as JobBody;
    const job = await service.services.exportJobs.get('acme', jobId);
    expect(job?.status).toBe('completed');
    expect(job?.progress?.chunks).toBeGreaterThanOrEqual(4);
    expect(job?.progress?.chunksDone).toBe(job?.progress?.chunks);
    expect(again.response.status).toBe(303);
    const { zip, document } = await exportedEntries(again.response.headers.get('location') ?? '');
    expect(zip.testOk).toBe(true);
    const ids = document.audit_trail.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const trail = await fetchAll(service, token);
    expect(document.audit_trail).toEqual(trail.filter((entry) => entry.id <= (job?.snapshotMaxId ?? 0)));
    expect(document.audit_trail.filter((entry) => entry.action_type !== 'api_request')).toHaveLength(3000);
  });

  it('writes exactly the document the single-worker export writes for the same snapshot, read alike by unzip, Python and yauzl', async () => {
    // Prepare: nothing is written to the tenant between the two exports, all of it sequenced.
    await service.settle();
    const reference = await singleWorkerZip(service, 'initech');

    // Act
    const job = await runExportJobLocally(service, 'initech');
    const zip = await storedZip(service, job);
    const readings = await readWithAll(zip, EXPORT_JSON_NAME);
    const expected = (await readWithAll(reference, EXPORT_JSON_NAME)).python.files[EXPORT_JSON_NAME];

    // Assess
    expect(job).toMatchObject({ status: 'completed', entries: 2500, bytes: zip.length });
    expect(job.progress?.chunks).toBeGreaterThanOrEqual(4);
    expect(hasZip64End(zip)).toBe(false);
    expect(expected).toBeDefined();
    for (const reading of Object.values(readings)) {
      expect(reading.ok).toBe(true);
      // The verifiable log's proof file follows the document (the document is unchanged).
      expect(reading.names).toEqual([EXPORT_JSON_NAME, TLOG_PROOF_FILE]);
      expect(reading.files[EXPORT_JSON_NAME]).toBe(expected);
    }
    // The proof file the finisher streamed verifies the document offline.
    const token = await service.token('initech', ['read']);
    const key = ((await service.get('/api/v1/tlog/key', {}, { 'x-api-key': token })).body as { key: string })
      .key;
    const verdict = verifyDownload({
      document: String(readings.yauzl.files[EXPORT_JSON_NAME]),
      proof: String(readings.yauzl.files[TLOG_PROOF_FILE]),
      trusted: [key],
    });
    expect(verdict.problems).toEqual([]);
    expect(verdict.entriesChecked).toBe(2500);
  });

  it('shows chunks done of total on the job status while the export runs', async () => {
    // Prepare: plan a job and store two of its chunks, as workers part-way through would.
    const token = await service.token('zip64', ['download']);
    const job = await createExportJob(service, 'zip64');
    const deps = parallelExportDependencies(service.services.config);
    const plan = await planExport(deps, job);
    await runExportChunk(deps, { ...job, chunk: { index: 1 } });
    await runExportChunk(deps, { ...job, chunk: { index: 1 } });
    await runExportChunk(deps, { ...job, chunk: { index: 0 } });

    // Act
    const status = await service.get(`/api/v1/audit_trail/download/jobs/${job.jobId}`, { auth_token: token });

    // Assess
    expect(plan?.mode).toBe('parallel');
    const total = plan?.mode === 'parallel' ? plan.chunks.length : 0;
    expect(total).toBeGreaterThanOrEqual(3);
    expect(status.status).toBe(202);
    expect(status.body).toMatchObject({ status: 'running', job_id: job.jobId, chunks: { done: 2, total } });
    await service.services.exportJobs.fail('zip64', job.jobId, 'test over', Date.now());
  });

  it('writes ZIP64 records when forced, and all three readers read the same document', async () => {
    // Prepare
    const reference = await singleWorkerZip(service, 'zip64');
    const job = await createExportJob(service, 'zip64');
    const base = parallelExportDependencies(service.services.config);
    const deps = { ...base, settings: { ...base.settings, forceZip64: true } };

    // Act
    const plan = await planExport(deps, job);
    const chunks = plan?.mode === 'parallel' ? plan.chunks : [];
    await Promise.all(chunks.map((chunk) => runExportChunk(deps, { ...job, chunk })));
    const done = await finishExport(deps, job);
    const zip = await storedZip(service, done ?? job);
    const readings = await readWithAll(zip, EXPORT_JSON_NAME);
    const expected = (await readWithAll(reference, EXPORT_JSON_NAME)).python.files[EXPORT_JSON_NAME];

    // Assess
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(done?.status).toBe('completed');
    expect(hasZip64End(zip)).toBe(true);
    for (const reading of Object.values(readings)) {
      expect(reading.ok).toBe(true);
      expect(reading.files[EXPORT_JSON_NAME]).toBe(expected);
    }
    // The proof file the finisher streamed verifies the document offline.
    const token = await service.token('initech', ['read']);
    const key = ((await service.get('/api/v1/tlog/key', {}, { 'x-api-key': token })).body as { key: string })
      .key;
    const verdict = verifyDownload({
      document: String(readings.yauzl.files[EXPORT_JSON_NAME]),
      proof: String(readings.yauzl.files[TLOG_PROOF_FILE]),
      trusted: [key],
    });
    expect(verdict.problems).toEqual([]);
    // The 1800 seeded entries and the record of the reference download before it.
    expect(verdict.entriesChecked).toBe(1801);
  });
});
