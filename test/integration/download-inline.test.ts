import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { inspectZip } from '../helpers/zip.js';

const DOWNLOAD = '/api/v1/audit_trail/download/json';
const FETCH = '/api/v1/audit_trail/fetch';

interface CanaryEntry {
  id: number;
  action_type: string;
  message: string | null;
  additional_information: Record<string, unknown> | null;
}

/**
 * Every entry of the tenant as fetch pages them (newest first), and how many fetch calls that took:
 * each call is itself recorded (self-audit), after the page it answered was read.
 */
const fetchAll = async (
  service: TestService,
  token: string,
): Promise<{ entries: CanaryEntry[]; calls: number }> => {
  const entries: CanaryEntry[] = [];
  let page = (await service.get(FETCH, { auth_token: token, limit: '1000' })).body as {
    audit_trail: CanaryEntry[];
    cursor: { next: string | null };
  };
  let calls = 1;
  entries.push(...page.audit_trail);
  while (page.cursor.next) {
    page = (await service.get(FETCH, { auth_token: token, cursor: page.cursor.next })).body as typeof page;
    calls += 1;
    entries.push(...page.audit_trail);
  }
  return { entries, calls };
};

/** The newest record of a download in a trail listed newest first. */
const newestDownloadRecord = (trail: readonly CanaryEntry[]): CanaryEntry | undefined =>
  trail.find((entry) => entry.action_type === 'audit_trail_downloaded');

const download = async (service: TestService, query: Record<string, string>) => {
  const url = new URL(DOWNLOAD, service.url);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const response = await fetch(url, { redirect: 'manual' });
  const bytes = new Uint8Array(await response.arrayBuffer());
  // The call's own api_request record is stored behind the answer (self-audit is off the request
  // path); as `service.request` does, wait for it before the test reads the trail.
  await service.drainSelfAudit();
  return { response, bytes };
};

describe('GET /api/v1/audit_trail/download/json (inline)', () => {
  let service: TestService;
  let downloadToken: string;
  let readToken: string;

  beforeAll(async () => {
    service = await startTestService();
    downloadToken = await service.token('acme', ['download']);
    readToken = await service.token('acme', ['read']);
    const now = Date.UTC(2026, 10, 1);
    await service.services.events.append('acme', [
      {
        timestamp: now - 1000,
        action_type: 'user_login',
        user: 'ana@example.com',
        additional_information: { n: [1, 'two'] },
      },
    ]);
    const drafts = demoEvents({ count: 300, days: 3, now });
    for (let start = 0; start < drafts.length; start += 100)
      await service.services.events.append('acme', drafts.slice(start, start + 100));
    await service.services.events.append('globex', demoEvents({ count: 40, days: 1, now, seed: 7 }));
  });
  afterAll(async () => service.stop());

  it('answers a zip holding exactly the tenant entries, in fetch order and shape', async () => {
    // Prepare: reading the trail is itself audited, so the export must hold those calls too.
    const { entries: before, calls } = await fetchAll(service, readToken);

    // Act
    const { response, bytes } = await download(service, { auth_token: downloadToken });

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-zip-compressed');
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="canary_audit_trail.json.zip"',
    );
    const zip = inspectZip(bytes, 'canary_audit_trail.json');
    expect(zip.testOk).toBe(true);
    // The verifiable log's proof file follows the document (the document is unchanged).
    expect(zip.names).toEqual(['canary_audit_trail.json', 'tlog-proof.jsonl']);
    const document = JSON.parse(zip.text) as { audit_trail: CanaryEntry[] };
    expect(Object.keys(document)).toEqual(['audit_trail']);
    // Exactly what fetch shows up to the export's snapshot (recorded with the download).
    const { entries: after } = await fetchAll(service, readToken);
    const record = newestDownloadRecord(after);
    const snapshot = Number(record?.additional_information?.snapshot_max_id);
    expect(record?.additional_information).toMatchObject({ mode: 'inline', entries: 301 + calls });
    expect(document.audit_trail[0]?.id).toBe(snapshot);
    expect(document.audit_trail).toEqual(after.filter((entry) => entry.id <= snapshot));
    // That is every seeded entry of the tenant, plus exactly the fetch calls made before the export.
    expect(document.audit_trail.filter((entry) => entry.action_type !== 'api_request')).toHaveLength(301);
    expect(document.audit_trail).toHaveLength(301 + calls);
    expect(document.audit_trail.slice(calls)).toEqual(before);
    expect(document.audit_trail.slice(0, calls).map((entry) => [entry.action_type, entry.message])).toEqual(
      Array.from({ length: calls }, () => ['api_request', `GET ${FETCH} returned 200`]),
    );
    expect(document.audit_trail.some((entry) => entry.additional_information?.n !== undefined)).toBe(true);
  });

  it('records each download in the audit trail, after the export it describes', async () => {
    // Act
    const { bytes } = await download(service, { auth_token: downloadToken });

    // Assess
    const exported = JSON.parse(inspectZip(bytes, 'canary_audit_trail.json').text) as {
      audit_trail: CanaryEntry[];
    };
    // The download's own records are read once derived (the download no longer waits seconds for
    // the sequencer, which used to give the stream consumer that time).
    await service.settle();
    const { entries: trail } = await fetchAll(service, readToken);
    const record = newestDownloadRecord(trail);
    const snapshot = exported.audit_trail[0]?.id ?? Number.MAX_SAFE_INTEGER;
    expect(record?.additional_information).toMatchObject({
      mode: 'inline',
      entries: exported.audit_trail.length,
      snapshot_max_id: snapshot,
    });
    expect(exported.audit_trail.map((entry) => entry.id)).not.toContain(record?.id);
    expect(record?.id).toBeGreaterThan(snapshot);
    // Only the audited download call itself came after its record.
    expect(
      trail
        .filter((entry) => entry.id > (record?.id ?? Number.MAX_SAFE_INTEGER))
        .map((entry) => [entry.action_type, entry.message]),
    ).toEqual([['api_request', `GET ${DOWNLOAD} returned 200`]]);
  });

  it('answers an empty audit trail for a tenant without entries', async () => {
    // Prepare
    const token = await service.token('initech', ['download']);

    // Act
    const { response, bytes } = await download(service, { auth_token: token });

    // Assess
    expect(response.status).toBe(200);
    expect(JSON.parse(inspectZip(bytes, 'canary_audit_trail.json').text)).toEqual({ audit_trail: [] });
  });

  it('refuses a token without the download scope with 403 in canary shape', async () => {
    // Act
    const { response, bytes } = await download(service, { auth_token: readToken });

    // Assess
    expect(response.status).toBe(403);
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toEqual({
      result: 'error',
      message: expect.stringContaining('download'),
    });
  });

  it('refuses a request without credentials with 401 in canary shape', async () => {
    const { response, bytes } = await download(service, {});
    expect(response.status).toBe(401);
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toMatchObject({ result: 'error' });
  });
});
