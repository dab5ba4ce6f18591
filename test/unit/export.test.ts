import { describe, expect, it } from '@jest/globals';
import {
  type ExportJob,
  exportDocument,
  exportObjectKey,
  isExportId,
  JOB_ABANDONED_AFTER_MS,
  newExportId,
  reuseDecision,
} from '../../lambdas/domain/export.js';
import { sealRecord } from '../../lambdas/domain/record.js';

const collect = async (chunks: AsyncIterable<Buffer>): Promise<string> => {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
};

async function* pagesOf(...pages: ReturnType<typeof sealRecord>[][]) {
  for (const page of pages) yield page;
}

describe('exportDocument', () => {
  it('writes one JSON document of canary entries across pages, in the order given', async () => {
    // Prepare
    const record = (id: number) =>
      sealRecord('acme', id, 1_700_000_000_000, { action_type: 'user_login', user: 'ana' });

    // Act
    const text = await collect(exportDocument(pagesOf([record(3), record(2)], [], [record(1)])));

    // Assess
    const document = JSON.parse(text) as { audit_trail: { id: number; user: string; flock_id: null }[] };
    expect(document.audit_trail.map((entry) => entry.id)).toEqual([3, 2, 1]);
    expect(document.audit_trail[0]).toMatchObject({
      user: 'ana',
      flock_id: null,
      timestamp: '2023-11-14 22:13:20 UTC+0000',
    });
  });

  it('writes an empty list when there are no entries', async () => {
    expect(JSON.parse(await collect(exportDocument(pagesOf())))).toEqual({ audit_trail: [] });
  });
});

describe('reuseDecision', () => {
  const now = 10_000_000;
  const job = (overrides: Partial<ExportJob>): ExportJob => ({
    tenant: 'acme',
    jobId: newExportId(now),
    status: 'running',
    createdAt: now - 1000,
    updatedAt: now - 1000,
    ...overrides,
  });

  it('waits for a running job, and exports afresh once it looks abandoned', () => {
    expect(reuseDecision(job({}), now, 600_000)).toBe('wait');
    expect(reuseDecision(job({ updatedAt: now - JOB_ABANDONED_AFTER_MS }), now, 600_000)).toBe('export');
  });

  it('serves a completed job within the reuse window only', () => {
    const completed = { status: 'completed' as const, objectKey: 'k' };
    expect(reuseDecision(job({ ...completed, updatedAt: now - 599_999 }), now, 600_000)).toBe('serve');
    expect(reuseDecision(job({ ...completed, updatedAt: now - 600_000 }), now, 600_000)).toBe('export');
  });

  it('exports afresh after a failed job or without any', () => {
    expect(reuseDecision(job({ status: 'failed' }), now, 600_000)).toBe('export');
    expect(reuseDecision(undefined, now, 600_000)).toBe('export');
  });
});

describe('export ids and keys', () => {
  it('sort by time and stay under the tenant prefix', () => {
    const earlier = newExportId(1_700_000_000_000);
    const later = newExportId(1_700_000_000_001);
    expect(isExportId(earlier)).toBe(true);
    expect(isExportId('exp_../../x')).toBe(false);
    expect(earlier < later).toBe(true);
    expect(exportObjectKey('acme', earlier)).toBe(`exports/acme/${earlier}/canary_audit_trail.json.zip`);
  });
});
