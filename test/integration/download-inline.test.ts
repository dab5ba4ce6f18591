import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { inspectZip } from '../helpers/zip.js';

const DOWNLOAD = '/api/v1/audit_trail/download/json';
const FETCH = '/api/v1/audit_trail/fetch';

interface CanaryEntry {
  id: number;
  action_type: string;
  additional_information: Record<string, unknown> | null;
}

/** Every entry of the tenant as fetch pages them (newest first). */
const fetchAll = async (service: TestService, token: string): Promise<CanaryEntry[]> => {
  const entries: CanaryEntry[] = [];
  let page = (await service.get(FETCH, { auth_token: token, limit: '1000' })).body as {
    audit_trail: CanaryEntry[];
    cursor: { next: string | null };
  };
  entries.push(...page.audit_trail);
  while (page.cursor.next) {
    page = (await service.get(FETCH, { auth_token: token, cursor: page.cursor.next })).body as typeof page;
    entries.push(...page.audit_trail);
  }
  return entries;
};

const download = async (service: TestService, query: Record<string, string>) => {
  const url = new URL(DOWNLOAD, service.url);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  const response = await fetch(url, { redirect: 'manual' });
  return { response, bytes: new Uint8Array(await response.arrayBuffer()) };
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
    // Prepare
    const expected = await fetchAll(service, readToken);

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
    expect(zip.names).toEqual(['canary_audit_trail.json']);
    const document = JSON.parse(zip.text) as { audit_trail: CanaryEntry[] };
    expect(Object.keys(document)).toEqual(['audit_trail']);
    expect(document.audit_trail).toHaveLength(301);
    expect(document.audit_trail).toEqual(expected);
    expect(document.audit_trail.some((entry) => entry.additional_information?.n !== undefined)).toBe(true);
  });

  it('records each download in the audit trail, after the export it describes', async () => {
    // Act
    const { bytes } = await download(service, { auth_token: downloadToken });

    // Assess
    const exported = JSON.parse(inspectZip(bytes, 'canary_audit_trail.json').text) as {
      audit_trail: CanaryEntry[];
    };
    const newest = (
      (await service.get(FETCH, { auth_token: readToken, limit: '1' })).body as {
        audit_trail: CanaryEntry[];
      }
    ).audit_trail[0];
    expect(newest?.action_type).toBe('audit_trail_downloaded');
    expect(newest?.additional_information).toMatchObject({
      mode: 'inline',
      entries: exported.audit_trail.length,
    });
    expect(exported.audit_trail.map((entry) => entry.id)).not.toContain(newest?.id);
    expect(newest?.id).toBeGreaterThan(exported.audit_trail[0]?.id ?? Number.MAX_SAFE_INTEGER);
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
