import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InProcessJobLauncher } from '../../lambdas/adapters/in-process-job-launcher.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import {
  AuditTrailApiError,
  type AuditTrailClient,
  type CanaryEntry,
  createAuditTrailClient,
  type DownloadProgress,
  type PurgeProgress,
  type RetryInfo,
} from '../../packages/client/src/index.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { inspectZip } from '../helpers/zip.js';
import { type Exchange, recordingFetch } from './service-fetch.js';

/** The client against the local stack. Budgets of 0 make every download and purge a job. */
describe('Package: @audit-trail/client', () => {
  let service: TestService;
  let token: string;
  let client: AuditTrailClient;
  let sent: Exchange[];
  const dir = mkdtempSync(join(tmpdir(), 'client-'));

  const idle = async () => {
    if (service.jobs instanceof InProcessJobLauncher) await service.jobs.idle();
  };
  const events = (count: number, action: string) =>
    Array.from({ length: count }, (_, index) => ({ action_type: action, message: `${action} ${index}` }));

  beforeAll(async () => {
    service = await startTestService({
      config: { DOWNLOAD_REQUEST_BUDGET_MS: '0', PURGE_REQUEST_BUDGET_MS: '0', PURGE_PART_ENTRIES: '50' },
    });
    token = await service.token('client-acme', ['admin']);
    const recording = recordingFetch(service.url);
    sent = recording.sent;
    // Page numbers, totals and kore offsets come from the rollup counters, derived behind each
    // write (every call writes its own record): these walks read a caught-up trail.
    const settled = async (request: Request): Promise<Response> => {
      await service.settle();
      return recording.fetch(request);
    };
    client = createAuditTrailClient({ endpoint: service.url, token, fetch: settled });
    await client.ingest(events(7, 'client_paged'));
  });
  afterAll(async () => {
    await idle();
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('Method: canary.pages / canary.entries', () => {
    it('iterates every page of a filter with for await, newest first, following cursor.next', async () => {
      // Act
      const pages = [];
      for await (const page of client.canary.pages({ action: 'client_paged', limit: 3, tz: 'Europe/London' }))
        pages.push(page);
      const entries: CanaryEntry[] = [];
      for await (const entry of client.canary.entries({ action: 'client_paged', limit: 2 }))
        entries.push(entry);

      // Assess
      expect(pages.map((page) => page.audit_trail.length)).toEqual([3, 3, 1]);
      expect(pages.map((page) => page.page_number)).toEqual([1, 2, 3]);
      expect(pages.at(-1)?.cursor.next).toBeNull();
      expect(pages[0]?.audit_trail[0]?.timestamp_std).toMatch(/GMT|BST/);
      expect(entries.map((entry) => entry.message)).toEqual(
        Array.from({ length: 7 }, (_, index) => `client_paged ${6 - index}`),
      );
      // The token went in a header, never in the query string.
      const fetches = sent.filter((exchange) => exchange.url.includes('/audit_trail/fetch'));
      expect(fetches.every((exchange) => !exchange.url.includes('auth_token'))).toBe(true);
      expect(fetches[0]?.headers.get('authorization')).toBe(`Bearer ${token}`);
    });
  });

  describe('Method: kore.pages / apiKey.pages', () => {
    it('pages the kore dialect by offset/size and the api-key dialect by page[cursor]', async () => {
      // Prepare
      const app = await registerKoreApp(
        service.services.koreApps,
        {
          tenant: 'client-acme',
          scopes: ['read'],
        },
        service.services.tenants,
      );
      const jwt = await koreJwt(app.appId, app.clientSecret);
      const expected: number[] = [];
      for await (const entry of client.canary.entries({ limit: 1000 })) expected.push(entry.id);

      // Act
      const kore = [];
      for await (const page of client.kore.pages({ jwt, size: 4 })) kore.push(page);
      const apiKey = [];
      for await (const page of client.apiKey.pages({ pageSize: 4 })) apiKey.push(page);

      // Assess
      const koreIds = kore.flatMap((page) => page.auditlogs.map((entry) => Number(entry.AuditLogId)));
      expect(kore.length).toBeGreaterThan(2);
      expect(kore.at(-1)?.moreAvailable).toBe(false);
      // Both walks started after the canary one, so each also sees the calls made since: compare
      // the entries that existed before.
      const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);
      // kore pages oldest first, the other two newest first: compare the sets.
      expect(sorted(koreIds.filter((id) => id <= (expected[0] ?? 0)))).toEqual(sorted(expected));
      const apiKeyIds = apiKey.flatMap((page) => page.data.map((entry) => Number(entry.id)));
      expect(apiKey.length).toBeGreaterThan(2);
      expect(apiKey.at(-1)?.links.next).toBeNull();
      // The api-key dialect lists only the entries that record an API call: a subset, each with its request.
      const known = new Set(expected);
      expect(apiKeyIds.filter((id) => id <= (expected[0] ?? 0)).every((id) => known.has(id))).toBe(true);
      expect(
        apiKey
          .flatMap((page) => page.data)
          .every((entry) => entry.uri !== undefined && entry.method !== undefined),
      ).toBe(true);
    });
  });

  describe('Method: ingest', () => {
    it('sends an Idempotency-Key of its own, and a repeated key writes nothing twice', async () => {
      // Act
      const first = await client.ingest(events(2, 'client_once'), { idempotencyKey: 'client-test-key-1' });
      const again = await client.ingest(events(2, 'client_once'), { idempotencyKey: 'client-test-key-1' });
      await client.ingest(events(1, 'client_auto'));
      const stored = [];
      for await (const entry of client.canary.entries({ action: 'client_once' })) stored.push(entry);

      // Assess
      expect(again.ids).toEqual(first.ids);
      expect(stored).toHaveLength(2);
      const automatic = sent.filter((exchange) => exchange.method === 'POST').at(-1);
      expect(automatic?.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('Option: retry', () => {
    it('waits what Retry-After says after a 429, under the same Idempotency-Key, then succeeds', async () => {
      // Prepare: the first attempt is refused with Retry-After: 1.
      const retries: RetryInfo[] = [];
      const recording = recordingFetch(service.url, (_request, so) =>
        so.length === 0
          ? Response.json(
              { result: 'error', message: 'slow down' },
              { status: 429, headers: { 'retry-after': '1' } },
            )
          : undefined,
      );
      const throttled = createAuditTrailClient({
        endpoint: service.url,
        token,
        fetch: recording.fetch,
        retry: { onRetry: (info) => retries.push(info) },
      });

      // Act
      const result = await throttled.ingest(events(1, 'client_retried'));

      // Assess
      expect(result.ids).toHaveLength(1);
      expect(retries).toEqual([expect.objectContaining({ attempt: 1, delayMs: 1000, status: 429 })]);
      expect(recording.sent.map((exchange) => exchange.status)).toEqual([429, 201]);
      const keys = recording.sent.map((exchange) => exchange.headers.get('idempotency-key'));
      expect(keys[0]).toBe(keys[1]);
    });

    it('gives up after maxAttempts with a typed error carrying status, message and Retry-After', async () => {
      // Prepare: always 503.
      const recording = recordingFetch(service.url, () =>
        Response.json(
          { result: 'error', message: 'The store is unavailable' },
          { status: 503, headers: { 'retry-after': '0' } },
        ),
      );
      const down = createAuditTrailClient({
        endpoint: service.url,
        token,
        fetch: recording.fetch,
        retry: { maxAttempts: 3 },
      });

      // Act
      const error = await down.canary.page().catch((caught: unknown) => caught);

      // Assess
      expect(recording.sent).toHaveLength(3);
      expect(error).toBeInstanceOf(AuditTrailApiError);
      expect(error).toMatchObject({ status: 503, dialect: 'canary', message: 'The store is unavailable' });
      expect((error as AuditTrailApiError).retryAfterSeconds).toBe(0);
    });
  });

  describe('Errors', () => {
    it("carries each dialect's status and message", async () => {
      // Prepare
      const stranger = createAuditTrailClient({
        endpoint: service.url,
        token: 'ats_not-a-real-token-at-all',
      });

      // Act
      const canary = await stranger.canary.page().catch((error: unknown) => error);
      const badLimit = await client.canary.page({ limit: 5000 }).catch((error: unknown) => error);
      const apiKey = await (async () => {
        for await (const page of client.apiKey.pages({ startDate: 'yesterday' })) return page;
      })().catch((error: unknown) => error);
      const kore = await (async () => {
        for await (const page of client.kore.pages({ jwt: 'not.a.jwt' })) return page;
      })().catch((error: unknown) => error);

      // Assess
      expect(canary).toMatchObject({ status: 401, dialect: 'canary', message: expect.any(String) });
      expect(badLimit).toMatchObject({
        status: 400,
        dialect: 'canary',
        message: expect.stringMatching(/limit/),
      });
      expect(apiKey).toMatchObject({ status: 400, dialect: 'api-key' });
      expect((apiKey as AuditTrailApiError).fieldErrors[0]?.field).toBe('filter[startDate]');
      expect(kore).toMatchObject({ status: 401, dialect: 'kore', message: expect.any(String) });
      for (const error of [canary, badLimit, apiKey, kore]) expect(error).toBeInstanceOf(AuditTrailApiError);
    });
  });

  describe('Method: download', () => {
    it('follows 202 → job status → 303 and writes the zip to a file, reporting progress', async () => {
      // Prepare
      const to = join(dir, 'export.zip');
      const progress: DownloadProgress[] = [];

      // Act
      const result = await client.download({ to, onProgress: (update) => progress.push(update) });

      // Assess
      expect(result).toMatchObject({ path: to, source: 'job', jobId: expect.stringMatching(/^exp_/) });
      const zip = inspectZip(readFileSync(to), 'canary_audit_trail.json');
      expect(zip.testOk).toBe(true);
      const document = JSON.parse(zip.text) as { audit_trail: CanaryEntry[] };
      expect(document.audit_trail.filter((entry) => entry.action_type === 'client_paged')).toHaveLength(7);
      expect(progress[0]).toMatchObject({ phase: 'waiting', jobId: result.jobId });
      expect(progress.at(-1)).toMatchObject({ phase: 'transferring', bytes: result.bytes });
      expect(result.bytes).toBe(readFileSync(to).length);
      const statuses = sent.filter((exchange) => exchange.url.includes('/download/')).map((e) => e.status);
      expect(statuses[0]).toBe(202);
      expect(statuses.at(-1)).toBe(303);
    });
  });

  describe('Method: purge', () => {
    it('polls a purge job until it completes and reports its progress', async () => {
      // Prepare
      await client.ingest(events(60, 'client_purged'));
      const newest = (await client.canary.page({ action: 'client_purged', limit: 1 })).audit_trail[0];
      const states: PurgeProgress[] = [];

      // Act
      const result = await client.purge(newest?.id ?? 0, {
        pollIntervalMs: 20,
        onProgress: (state) => states.push(state),
      });
      await idle();
      const left = [];
      for await (const entry of client.canary.entries({ action: 'client_purged' })) left.push(entry);

      // Assess
      expect(states[0]).toMatchObject({ status: 'running', jobId: expect.stringMatching(/^pj-/) });
      expect(result.status).toBe('completed');
      expect(result.deleted).toBeGreaterThanOrEqual(60);
      expect(left).toEqual([]);
    });
  });
});
