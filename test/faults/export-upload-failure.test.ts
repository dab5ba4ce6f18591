import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DOWNLOAD, exportedEntries, getWithToken, seedIncompressible } from '../helpers/downloads.js';
import { failMultipartPart } from '../helpers/faults.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const NOW = Date.UTC(2026, 10, 1);

const download = (service: TestService, token: string) => getWithToken(service, DOWNLOAD, token);

/**
 * Fault (d), request path: S3 fails in the middle of the multipart upload a download streams its
 * zip into. Invariant: the upload is aborted and never completed, no object (partial or whole) is
 * left under the tenant's export prefix, the caller gets a 503 saying to try again (in the canary
 * shape), and the next download exports every entry.
 */
describe('fault: S3 fails mid-upload of a download served through S3', () => {
  let service: TestService;

  beforeAll(async () => {
    // Every zip over 1 KiB goes through the export bucket.
    service = await startTestService({ config: { DOWNLOAD_INLINE_MAX_BYTES: '1024' } });
  });
  afterAll(async () => {
    await service.stop();
  });

  it('leaves no object and no multipart upload when S3 fails mid-upload, and the next download succeeds', async () => {
    // Prepare: ~15 MB of barely compressible entries, so the zip needs three 5 MiB parts.
    const { config } = service.services;
    const { s3 } = service.objects;
    const blobs = await seedIncompressible(service, 'bulky', 2500, NOW);
    const token = await service.token('bulky', ['download']);
    const trace = failMultipartPart(s3, 2);

    // Act
    let failed: Awaited<ReturnType<typeof download>>;
    try {
      failed = await download(service, token);
    } finally {
      trace.remove();
    }
    const left = await s3.send(
      new ListObjectsV2Command({ Bucket: config.EXPORTS_BUCKET, Prefix: 'exports/bulky/' }),
    );
    const retried = await download(service, token);

    // Assess
    expect(failed.response.status).toBe(503);
    expect(JSON.parse(failed.text)).toEqual({
      result: 'error',
      message: expect.stringContaining('Try again'),
    });
    expect(trace.partsSent).toBeGreaterThanOrEqual(2);
    expect(trace.created).toHaveLength(1);
    expect(new Set(trace.aborted)).toEqual(new Set(trace.created));
    expect(trace.completed).toBe(0);
    expect(left.KeyCount ?? 0).toBe(0);
    expect(retried.response.status).toBe(303);
    const { zip, document } = await exportedEntries(retried.response.headers.get('location') ?? '');
    expect(zip.testOk).toBe(true);
    // Every seeded entry, in order, plus the audited failed call (and no record of a download for it).
    const exported = document.audit_trail;
    expect(exported).toHaveLength(2501);
    expect(
      exported
        .filter((entry) => entry.action_type === 'blob_stored')
        .map((entry) => entry.additional_information?.blob),
    ).toEqual(blobs);
    expect(exported[0]).toMatchObject({
      action_type: 'api_request',
      message: expect.stringMatching(/^GET \/api\/v1\/audit_trail\/download\/json returned 503/),
    });
  });
});
