import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lastIdAt, timestampOfId } from '../../lambdas/domain/ids.js';
import { PURGE_ACTION, purgeJobId } from '../../lambdas/domain/purge.js';
import { handler as ingestQueue } from '../../lambdas/handlers/ingest-queue.js';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestConfig, type TestService } from '../helpers/local-service.js';
import {
  allEntries,
  archivedLines,
  counterMismatches,
  form,
  linesOf,
  seed,
} from '../helpers/purge-fixtures.js';
import { busEvent, sqsRecord } from '../helpers/sqs-events.js';

const PURGE = '/api/v1/audit_trail/purge';
const EVENTS = '/api/v1/audit_trail/events';
const NOW = Date.UTC(2026, 10, 1);

/** This file's service settings (see startTestService). */
const CONFIG: TestConfig = {
  PURGE_REQUEST_BUDGET_MS: '25000',
};

interface PurgeAnswer {
  result: string;
  message: string;
  deleted: number;
  job_id: string;
  archive: string | null;
}

/**
 * A purge request deletes every entry with id ≤ id that exists when it is made, also after a
 * purge to the same id completed: entries written ≤ id since (back-dated admin imports,
 * EventBridge replays, or ordinary ingest when the id lies in the future) go too.
 */
describe('POST purge: repeating a purge to the same id', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
  });
  afterAll(async () => service.stop());

  const purge = async (token: string, id: number) =>
    service.request('POST', PURGE, form({ auth_token: token, id: String(id) }));

  it('deletes back-dated entries written ≤ id since the first purge completed, with exact counters', async () => {
    // Prepare: purge to X, then import entries ≤ X over HTTP (admin timestamps) and over EventBridge.
    const token = await service.token('backdated', ['admin']);
    await seed(service.services, 'backdated', demoEvents({ count: 200, days: 10, now: NOW, seed: 21 }));
    const seeded = await allEntries(service.services, 'backdated');
    const through = seeded[149]?.id ?? -1;
    const first = await purge(token, through);
    const cut = timestampOfId(through);
    const imported = await service.request('POST', EVENTS, {
      headers: { 'content-type': 'application/json', 'x-api-key': token },
      body: JSON.stringify({
        events: Array.from({ length: 30 }, (_, n) => ({
          action_type: n % 2 === 0 ? 'user_login' : 'history.imported',
          user: `old-${n % 5}@example.com`,
          timestamp: cut - 1 - n * 60_000,
        })),
      }),
    });
    const replayed = await ingestQueue({
      Records: [
        sqsRecord(
          busEvent(
            'backdated',
            Array.from({ length: 12 }, (_, n) => ({ action_type: 'invoice.paid', timestamp: cut - 5 - n })),
          ),
        ),
      ],
    });
    const behind = (await allEntries(service.services, 'backdated')).filter((entry) => entry.id <= through);

    // Act
    const second = await purge(token, through);

    // Assess
    expect(first.status).toBe(200);
    expect((first.body as PurgeAnswer).deleted).toBe(150);
    expect(imported.status).toBe(201);
    expect(replayed.batchItemFailures).toEqual([]);
    expect(behind).toHaveLength(42);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({
      result: 'success',
      message: `Purged 42 audit trail entries with id up to ${through}`,
      deleted: 42,
      job_id: purgeJobId(through, 2),
      archive: `${purgeJobId(through, 2)}.manifest.json`,
    });
    const after = await allEntries(service.services, 'backdated');
    expect(after.filter((entry) => entry.id <= through)).toEqual([]);
    expect(await counterMismatches(service.services, 'backdated')).toEqual([]);
    expect(after.filter((entry) => entry.action_type === PURGE_ACTION)).toHaveLength(2);
    // Each job archived what it deleted, once.
    expect((await archivedLines(service, token)).sort()).toEqual(
      linesOf([...seeded.slice(0, 150), ...behind]).sort(),
    );
  });

  it('deletes entries ingested after a purge to an id in the future, and then nothing more', async () => {
    // Prepare
    const token = await service.token('future', ['purge', 'ingest']);
    const future = lastIdAt(Date.now() + 3_600_000);
    const first = await purge(token, future);
    const ingested = await service.request('POST', EVENTS, {
      headers: { 'content-type': 'application/json', 'x-api-key': token },
      body: JSON.stringify({ events: Array.from({ length: 25 }, () => ({ action_type: 'user_login' })) }),
    });
    const before = (await allEntries(service.services, 'future')).filter((entry) => entry.id <= future);

    // Act
    const second = await purge(token, future);
    const third = await purge(token, future);

    // Assess
    expect(first.status).toBe(200);
    expect(ingested.status).toBe(201);
    // 25 events, the first purge's record and the calls before the second purge (self-audit).
    expect(before.length).toBeGreaterThanOrEqual(27);
    expect(second.status).toBe(200);
    expect((second.body as PurgeAnswer).deleted).toBe(before.length);
    expect((second.body as PurgeAnswer).job_id).toBe(purgeJobId(future, 2));
    const left = (await allEntries(service.services, 'future')).filter((entry) => entry.id <= future);
    // What is left ≤ id was written after the second purge's reads: its own record and the call itself.
    expect(left.map((entry) => entry.action_type).sort()).toEqual(['api_request', PURGE_ACTION]);
    expect(third.status).toBe(200);
    expect(await counterMismatches(service.services, 'future')).toEqual([]);
  });

  it('deletes nothing and starts no job when nothing ≤ id was written since', async () => {
    // Prepare
    const token = await service.token('quiet', ['purge']);
    await seed(service.services, 'quiet', demoEvents({ count: 50, days: 2, now: NOW, seed: 22 }));
    const through = (await allEntries(service.services, 'quiet'))[19]?.id ?? -1;
    await purge(token, through);

    // Act
    const again = await purge(token, through);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ deleted: 0, job_id: purgeJobId(through) });
    expect(await service.services.purges.get('quiet', purgeJobId(through, 2))).toBeUndefined();
    expect(await counterMismatches(service.services, 'quiet')).toEqual([]);
  });
});
