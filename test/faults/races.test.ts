import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DynamoDbEventStore } from '../../lambdas/adapters/dynamodb-event-store.js';
import { EXPORT_JOB_PREFIX, tenantPartition } from '../../lambdas/adapters/dynamodb-keys.js';
import { InProcessJobLauncher } from '../../lambdas/adapters/in-process-job-launcher.js';
import { SlotIdSource } from '../../lambdas/adapters/slot-id-source.js';
import { timestampOfId } from '../../lambdas/domain/ids.js';
import { PURGE_ACTION, purgeJobId } from '../../lambdas/domain/purge.js';
import { API_REQUEST_ACTION } from '../../lambdas/domain/record.js';
import { demoEvents, seededRandom } from '../../local/demo-data.js';
import { rollupMismatches, storedItems } from '../helpers/faults.js';
import { startTestService, type TestConfig, type TestService } from '../helpers/local-service.js';
import { allEntries, archivedLines, form, linesOf, seed } from '../helpers/purge-fixtures.js';
import { inspectZip } from '../helpers/zip.js';

const PURGE = '/api/v1/audit_trail/purge';
const DOWNLOAD = '/api/v1/audit_trail/download/json';
const NOW = Date.UTC(2026, 10, 1);

/** This file's service settings (see startTestService). */
const CONFIG: TestConfig = {
  PURGE_PART_ENTRIES: '100',
  PURGE_REQUEST_BUDGET_MS: '25000',
  // No download request exports anything itself: every first download has to start a job.
  DOWNLOAD_REQUEST_BUDGET_MS: '0',
};

/**
 * Fault (c): conditional-check races. Invariant: exactly one writer wins each contested item (an
 * id, a tenant's purge, a tenant's export job); the losers retry, join or are told who won;
 * nothing is lost or written twice and every rollup counter equals what the stored entries imply.
 */
describe('fault: conditional-check races', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
  });
  afterAll(async () => {
    const { jobs } = service;
    if (jobs instanceof InProcessJobLauncher) await jobs.idle();
    await service.stop();
  });

  it('stores every event once under a unique id when concurrent writers pick the same conditional ids in the same millisecond', async () => {
    // Prepare: four writers whose clocks stand still at the same millisecond, writing events
    // back-dated to before any id slot's range (so every id is a conditional candidate), whose
    // first pick of a candidate is the same: their first conditional puts collide for certain;
    // later picks are random, as they are in separate Lambda containers. (Slot ids need no
    // condition at all: test/faults/unique-ids.test.ts.)
    const tenant = 'colliding';
    const { doc, config } = service.services;
    const instant = Date.now() - 3_600_000;
    const writers = Array.from({ length: 4 }, (_, w) => {
      const own = seededRandom(100 + w);
      let first = true;
      return new DynamoDbEventStore(doc, {
        eventsTable: config.EVENTS_TABLE,
        controlTable: config.CONTROL_TABLE,
        clock: () => instant + 3_600_000,
        random: () => {
          if (!first) return own();
          first = false;
          return 0.5;
        },
      });
    });
    let collisions = 0;
    doc.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) collisions += 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'countCollisions' },
    );

    // Act
    let results: (number | undefined)[][];
    try {
      results = await Promise.all(
        writers.map(async (writer, w) => {
          const ids: (number | undefined)[] = [];
          for (let batch = 0; batch < 3; batch += 1) {
            const drafts = Array.from({ length: 20 }, (_, n) => ({
              timestamp: instant,
              action_type: `race.${w}`,
              message: `writer ${w} batch ${batch} event ${n}`,
            }));
            ids.push(...(await writer.append(tenant, drafts)).map((record) => record?.id));
          }
          return ids;
        }),
      );
    } finally {
      doc.middlewareStack.remove('countCollisions');
    }

    // Assess
    expect(collisions).toBeGreaterThan(0);
    const answered = results.flat();
    expect(answered).toHaveLength(240);
    const stored = await storedItems(service.services, tenant);
    expect(stored).toHaveLength(240);
    const ids = stored.map((item) => item.id as number);
    expect(new Set(ids).size).toBe(240);
    expect(new Set(answered)).toEqual(new Set(ids));
    for (const id of ids) expect(timestampOfId(id)).toBe(instant);
    expect(new Set(stored.map((item) => item.message)).size).toBe(240);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });

  it('never answers 429 while the millisecond has free ids: writers that keep drawing the same conditional id take free ones instead', async () => {
    // Prepare: four writers whose every random draw is the same (so every first candidate and
    // every redraw is the same id), all writing events back-dated to one millisecond before any
    // slot's range. Blind redraws would hit the one taken id until the attempts ran out (429,
    // "no free id"); reading what is free finds an id, and only other writers can take it first.
    const tenant = 'same-draw';
    const { doc, config } = service.services;
    const instant = Date.now() - 7_200_000;
    const writers = Array.from(
      { length: 4 },
      () =>
        new DynamoDbEventStore(doc, {
          eventsTable: config.EVENTS_TABLE,
          controlTable: config.CONTROL_TABLE,
          clock: () => instant + 7_200_000,
          random: () => 0.5,
        }),
    );

    // Act
    const results = await Promise.allSettled(
      writers.map(async (writer, w) => {
        const ids: number[] = [];
        for (let batch = 0; batch < 3; batch += 1) {
          const drafts = Array.from({ length: 20 }, (_, n) => ({
            timestamp: instant,
            action_type: `draw.${w}`,
            message: `writer ${w} batch ${batch} event ${n}`,
          }));
          ids.push(...(await writer.append(tenant, drafts)).map((record) => record.id));
        }
        return ids;
      }),
    );

    // Assess
    expect(results.map((result) => (result.status === 'rejected' ? String(result.reason) : 'ok'))).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    const answered = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
    const stored = await storedItems(service.services, tenant);
    expect(stored).toHaveLength(240);
    expect(new Set(stored.map((item) => item.id as number))).toEqual(new Set(answered));
    for (const item of stored) expect(timestampOfId(item.id as number)).toBe(instant);
    expect(new Set(stored.map((item) => item.message)).size).toBe(240);
  });

  it('moves server-stamped entries on to the next millisecond once every conditional id of theirs is taken', async () => {
    // Prepare: a writer that has no id slot (every slot held elsewhere), its clock stopped: all
    // of its entries are conditional candidates of one millisecond, more than it has ids for.
    const tenant = 'full-millisecond';
    const { doc, config } = service.services;
    const instant = Date.now();
    const noSlot = { acquire: async () => undefined, renew: async () => undefined };
    const writer = new DynamoDbEventStore(doc, {
      eventsTable: config.EVENTS_TABLE,
      controlTable: config.CONTROL_TABLE,
      clock: () => instant,
      ids: new SlotIdSource(noSlot, { clock: () => instant }),
    });

    // Act
    const answered: number[] = [];
    for (let batch = 0; batch < 6; batch += 1) {
      const drafts = Array.from({ length: 100 }, (_, n) => ({
        action_type: 'full.ms',
        message: `${batch}.${n}`,
      }));
      answered.push(...(await writer.append(tenant, drafts)).map((record) => record.id));
    }

    // Assess: 600 entries, 512 at the stopped millisecond (all of its conditional ids), the rest
    // after it; each entry's timestamp is its id's.
    const stored = await storedItems(service.services, tenant);
    expect(stored).toHaveLength(600);
    expect(new Set(stored.map((item) => item.id as number))).toEqual(new Set(answered));
    const at = (item: Record<string, unknown>) => timestampOfId(item.id as number);
    expect(stored.filter((item) => at(item) === instant)).toHaveLength(512);
    expect(stored.filter((item) => at(item) > instant)).toHaveLength(88);
    for (const item of stored) expect(item.timestamp).toBe(at(item));
  });

  it('runs one purge of a tenant when many are asked at once: each entry deleted, counted and archived once', async () => {
    // Prepare: four callers purge through the 200th entry, two others through the 100th.
    const tenant = 'purged-at-once';
    const token = await service.token(tenant, ['purge', 'download']);
    await seed(service.services, tenant, demoEvents({ count: 300, days: 3, now: NOW, seed: 31 }));
    const before = await allEntries(service.services, tenant);
    const far = before[199]?.id ?? -1;
    const near = before[99]?.id ?? -1;
    const purge = (id: number) => service.request('POST', PURGE, form({ auth_token: token, id: String(id) }));

    // Act
    const responses = await Promise.all([far, near, far, far, near, far].map(purge));
    const finish = await purge(far);

    // Assess
    const answers = [...responses, finish].map((response) => ({
      status: response.status,
      body: response.body as { deleted?: number; message?: string },
    }));
    // Each caller ran the purge, joined it (200/202) or was told which purge runs (409).
    for (const { status, body } of answers) {
      if (status === 409) expect(body.message).toMatch(new RegExp(`through id (${far}|${near})`));
      else expect([200, 202]).toContain(status);
    }
    expect(answers.filter(({ status }) => status === 409).length).toBeGreaterThan(0);
    // Each entry was deleted once, by one job, and answered once.
    expect(answers.reduce((sum, { body }) => sum + (body.deleted ?? 0), 0)).toBe(200);
    const jobs = await Promise.all(
      [far, near].map((id) => service.services.purges.get(tenant, purgeJobId(id))),
    );
    const ran = jobs.filter((job) => job !== undefined);
    expect(ran.every((job) => job.status === 'completed')).toBe(true);
    expect(ran.reduce((sum, job) => sum + job.deleted, 0)).toBe(200);
    const after = await allEntries(service.services, tenant);
    expect(after.filter((entry) => entry.id <= far)).toEqual([]);
    expect(
      after.filter((entry) => entry.action_type !== API_REQUEST_ACTION && entry.action_type !== PURGE_ACTION),
    ).toEqual(before.slice(200));
    // One purge record per job that ran, never one per caller.
    expect(after.filter((entry) => entry.action_type === PURGE_ACTION)).toHaveLength(ran.length);
    expect(after.filter((entry) => entry.action_type === API_REQUEST_ACTION)).toHaveLength(7);
    const archived = await archivedLines(service, token);
    expect([...archived].sort()).toEqual(linesOf(before.slice(0, 200)).sort());
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });

  it("starts one export job when a tenant's first downloads come at once, and serves every caller from it", async () => {
    // Prepare
    const tenant = 'downloaded-at-once';
    const token = await service.token(tenant, ['download']);
    await seed(service.services, tenant, demoEvents({ count: 150, days: 2, now: NOW, seed: 41 }));
    const download = async () => {
      const url = new URL(DOWNLOAD, service.url);
      url.searchParams.set('auth_token', token);
      const response = await fetch(url, { redirect: 'manual' });
      return {
        status: response.status,
        location: response.headers.get('location'),
        body: (await response.json()) as { job_id?: string },
      };
    };

    // Act
    const first = await Promise.all(Array.from({ length: 5 }, download));
    const { jobs } = service;
    if (jobs instanceof InProcessJobLauncher) await jobs.idle();
    const served = await download();

    // Assess
    expect(first.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);
    const jobIds = new Set(first.map((answer) => answer.body.job_id));
    expect(jobIds.size).toBe(1);
    const [jobId] = [...jobIds];
    const stored = await service.services.doc.send(
      new QueryCommand({
        TableName: service.services.config.CONTROL_TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': tenantPartition(tenant), ':prefix': EXPORT_JOB_PREFIX },
        ConsistentRead: true,
      }),
    );
    expect(stored.Items?.map((item) => [item.jobId, item.status])).toEqual([[jobId, 'completed']]);
    expect(served.status).toBe(303);
    expect(served.location).toContain(`/exports/${tenant}/${jobId}/`);
    const zip = inspectZip(
      new Uint8Array(await (await fetch(served.location ?? '')).arrayBuffer()),
      'canary_audit_trail.json',
    );
    const exported = (JSON.parse(zip.text) as { audit_trail: { action_type: string }[] }).audit_trail;
    expect(exported.filter((entry) => entry.action_type !== API_REQUEST_ACTION)).toHaveLength(150);
    expect(await rollupMismatches(service.services, tenant)).toEqual([]);
  });
});
