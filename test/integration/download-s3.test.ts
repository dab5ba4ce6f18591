import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import { DOWNLOAD, exportedEntries, fetchAll, getWithToken } from '../helpers/downloads.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const NOW = Date.UTC(2026, 10, 1);

const download = (service: TestService, token: string) => getWithToken(service, DOWNLOAD, token);

describe('GET /api/v1/audit_trail/download/json (through S3)', () => {
  let service: TestService;

  beforeAll(async () => {
    // Every zip over 1 KiB goes through the export bucket.
    service = await startTestService({ config: { DOWNLOAD_INLINE_MAX_BYTES: '1024' } });
  });
  afterAll(async () => {
    await service.stop();
  });

  it('answers 303 to a short-lived presigned URL that downloads the zip of every entry', async () => {
    // Prepare
    const { doc, config } = service.services;
    const tables = { eventsTable: config.EVENTS_TABLE, controlTable: config.CONTROL_TABLE };
    await bulkWrite(doc, tables, 'acme', demoEvents({ count: 5000, days: 10, now: NOW }));
    await bulkWrite(doc, tables, 'globex', demoEvents({ count: 100, days: 10, now: NOW, seed: 3 }));
    // Exports plan their chunks from the rollup counters, which the stream consumer derives.
    await service.settle();
    const token = await service.token('acme', ['download', 'read']);

    // Act
    const { response, text } = await download(service, token);

    // Assess
    expect(response.status).toBe(303);
    expect(JSON.parse(text)).toMatchObject({ result: 'success' });
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.pathname).toMatch(
      /^\/exports-[0-9a-f]+\/exports\/acme\/exp_[0-9a-z]+\/canary_audit_trail\.json\.zip$/,
    );
    expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeGreaterThan(0);
    expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(location.searchParams.get('response-content-disposition')).toBe(
      'attachment; filename="canary_audit_trail.json.zip"',
    );
    expect(location.searchParams.get('response-content-type')).toBe('application/x-zip-compressed');
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const followed = await exportedEntries(location.toString());
    expect(followed.response.status).toBe(200);
    expect(followed.response.headers.get('content-disposition')).toBe(
      'attachment; filename="canary_audit_trail.json.zip"',
    );
    expect(followed.zip.testOk).toBe(true);
    const ids = followed.document.audit_trail.map((entry) => entry.id);
    expect(ids).toHaveLength(5000);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    // Exactly what fetch shows up to the export's snapshot (recorded with the download): the seeded
    // entries, as no call was made for this tenant before. Paging by page_count needs the counters
    // caught up with the download's own records.
    await service.settle();
    const trail = await fetchAll(service, token);
    const record = trail.find((entry) => entry.action_type === 'audit_trail_downloaded');
    expect(record?.additional_information).toMatchObject({
      mode: 's3',
      entries: 5000,
      snapshot_max_id: ids[0],
    });
    expect(followed.document.audit_trail).toEqual(trail.filter((entry) => entry.id <= (ids[0] ?? 0)));
    expect(followed.document.audit_trail.some((entry) => entry.action_type === 'api_request')).toBe(false);
    // Only the audited download call itself came after its record.
    expect(
      trail
        .filter((entry) => entry.id > (record?.id ?? Number.MAX_SAFE_INTEGER))
        .map((entry) => [entry.action_type, entry.message]),
    ).toEqual([['api_request', `GET ${DOWNLOAD} returned 303`]]);
  }, 120_000);
});
