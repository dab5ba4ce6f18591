import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDynamoDbDocumentClient } from '../../lambdas/adapters/aws-clients.js';
import { DynamoDbPurgeStore } from '../../lambdas/adapters/dynamodb-purge-store.js';
import { PURGE_ACTION, purgeJobId } from '../../lambdas/domain/purge.js';
import { type AuditRecord, hashRecord } from '../../lambdas/domain/record.js';
import { UNAUTHENTICATED_TENANT } from '../../lambdas/http/self-audit.js';
import { purgeDependencies, runPurge, startPurge } from '../../lambdas/use-cases/purge-entries.js';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import {
  allEntries,
  archivedLines,
  counterMismatches,
  form,
  linesOf,
  seed,
  since,
} from '../helpers/purge-fixtures.js';

const PURGE = '/api/v1/audit_trail/purge';
const NOW = Date.UTC(2026, 10, 1);

// Small parts so that a few hundred entries span several parts, each of several batches.
process.env.PURGE_PART_ENTRIES = '150';
// Purges here finish within the request (the 202 path is in purge-jobs.test.ts).
process.env.PURGE_REQUEST_BUDGET_MS = '25000';

describe('POST /api/v1/audit_trail/purge', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('deletes every entry up to id (inclusive), archives them first and records the purge', async () => {
    // Prepare
    const token = await service.token('acme', ['purge', 'read', 'download']);
    await seed(service.services, 'acme', demoEvents({ count: 400, days: 20, now: NOW, seed: 7 }));
    const before = await allEntries(service.services, 'acme');
    const through = before[249]?.id ?? -1;

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      result: 'success',
      message: `Purged 250 audit trail entries with id up to ${through}`,
      deleted: 250,
      job_id: purgeJobId(through),
      archive: `${purgeJobId(through)}.manifest.json`,
    });
    const after = await allEntries(service.services, 'acme');
    expect(after.filter((entry) => entry.id <= through)).toEqual([]);
    expect(since(before, after)).toEqual({
      kept: before.slice(250),
      added: [PURGE_ACTION, `POST ${PURGE} 200`].sort(),
    });
    expect(await counterMismatches(service.services, 'acme')).toEqual([]);
    expect(await archivedLines(service, token)).toEqual(linesOf(before.slice(0, 250)));
    const record = after.find((entry) => entry.action_type === PURGE_ACTION);
    expect(record?.id).toBeGreaterThan(through);
    expect(record?.api_key?.name).toBeDefined();
    expect(record?.additional_information).toEqual({
      job_id: purgeJobId(through),
      through_id: through,
      deleted: 250,
      archive: `${purgeJobId(through)}.manifest.json`,
      started_by: record?.api_key?.id,
    });
  });

  it('deletes nothing more when the same purge is asked again, and says deleted: 0', async () => {
    // Prepare
    const token = await service.token('again', ['purge']);
    await seed(service.services, 'again', demoEvents({ count: 60, days: 2, now: NOW, seed: 8 }));
    const through = (await allEntries(service.services, 'again'))[29]?.id ?? -1;
    await service.request('POST', PURGE, { query: { auth_token: token, id: String(through) } });
    const between = await allEntries(service.services, 'again');

    // Act
    const response = await service.request('POST', PURGE, {
      query: { auth_token: token, id: String(through) },
    });

    // Assess
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(0);
    // Nothing deleted or changed, and no second purge record: only the call itself is recorded.
    expect(since(between, await allEntries(service.services, 'again'))).toEqual({
      kept: between,
      added: [`POST ${PURGE} 200`],
    });
    expect(between.filter((entry) => entry.action_type === PURGE_ACTION)).toHaveLength(1);
  });

  it('archives nothing for a tenant that keeps no archives, and still keeps counters exact', async () => {
    // Prepare
    const token = await service.token('noarchive', ['purge', 'download']);
    await service.services.tenants.update('noarchive', { archive: false }, Date.now());
    await seed(service.services, 'noarchive', demoEvents({ count: 120, days: 3, now: NOW, seed: 9 }));
    const through = (await allEntries(service.services, 'noarchive'))[99]?.id ?? -1;

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Assess
    expect(response.body).toMatchObject({ deleted: 100, archive: null });
    expect(await archivedLines(service, token)).toEqual([]);
    expect(await counterMismatches(service.services, 'noarchive')).toEqual([]);
  });

  describe('refuses bad requests in the canary error shape, deleting nothing', () => {
    let token: string;
    let readOnly: string;
    let seeded: AuditRecord[];
    beforeAll(async () => {
      token = await service.token('careful', ['purge']);
      readOnly = await service.token('careful', ['read']);
      await seed(service.services, 'careful', demoEvents({ count: 20, days: 1, now: NOW, seed: 10 }));
      seeded = await allEntries(service.services, 'careful');
    });
    const entries = async () => allEntries(service.services, 'careful');

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['not a number', 'abc'],
      ['negative', '-1'],
      ['fractional', '1.5'],
      ['exponent', '1e3'],
      ['beyond 2^53 − 1', '9007199254740992'],
      ['huge', '123456789012345678901234567890'],
      ['with spaces', ' 12'],
    ])('id %s → 400 naming id', async (_name, id) => {
      // Prepare
      const earlier = await entries();

      // Act
      const response = await service.request(
        'POST',
        PURGE,
        form({ auth_token: token, ...(id !== undefined ? { id } : {}) }),
      );

      // Assess
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ result: 'error', message: expect.stringMatching(/\bid\b/) });
      const after = await entries();
      expect(seeded).toHaveLength(20);
      expect(since(seeded, after).kept).toEqual(seeded);
      expect(since(earlier, after)).toEqual({ kept: earlier, added: [`POST ${PURGE} 400`] });
    });

    it('a token without the purge scope → 403', async () => {
      // Prepare
      const earlier = await entries();

      // Act
      const response = await service.request(
        'POST',
        PURGE,
        form({ auth_token: readOnly, id: '999999999999' }),
      );

      // Assess
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ result: 'error', message: expect.stringContaining('purge') });
      const after = await entries();
      expect(since(seeded, after).kept).toEqual(seeded);
      expect(since(earlier, after)).toEqual({ kept: earlier, added: [`POST ${PURGE} 403`] });
    });

    it('no token → 401', async () => {
      // Prepare
      const earlier = await entries();
      const anonymous = await allEntries(service.services, UNAUTHENTICATED_TENANT);

      // Act
      const response = await service.request('POST', PURGE, form({ id: '999999999999' }));

      // Assess
      expect(response.status).toBe(401);
      expect((response.body as { result: string }).result).toBe('error');
      // The call is recorded under the unauthenticated tenant, not in 'careful'.
      expect(since(earlier, await entries())).toEqual({ kept: earlier, added: [] });
      expect(since(anonymous, await allEntries(service.services, UNAUTHENTICATED_TENANT))).toEqual({
        kept: anonymous,
        added: [`POST ${PURGE} 401`],
      });
    });

    it('GET instead of POST → 405 with Allow: POST', async () => {
      // Prepare
      const earlier = await entries();

      // Act
      const response = await service.get(PURGE, { auth_token: token, id: '999999999999' });

      // Assess
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect((response.body as { result: string }).result).toBe('error');
      const after = await entries();
      expect(since(seeded, after).kept).toEqual(seeded);
      expect(since(earlier, after)).toEqual({ kept: earlier, added: [`GET ${PURGE} 405`] });
    });
  });

  describe('after a crash at any step of a segment, a resumed purge', () => {
    // Each case crashes at the k-th (0-based) call of one step, before it is sent or after it was
    // applied but before its answer arrives (the worst case: the store moved on, the runner did not).
    it.each([
      ['an intent is recorded', 'TransactWriteItemsCommand', 'intent#', 1, 'after'],
      ['a chunk of counter decrements lands', 'TransactWriteItemsCommand', 'ADD #n', 4, 'after'],
      ['a chunk of counter decrements is sent', 'TransactWriteItemsCommand', 'ADD #n', 3, 'before'],
      ['entries are deleted', 'BatchWriteItemCommand', 'DeleteRequest', 8, 'before'],
      ['entries were deleted', 'BatchWriteItemCommand', 'DeleteRequest', 9, 'after'],
      ['the checkpoint moves', 'UpdateItemCommand', 'REMOVE pending', 1, 'after'],
    ] as const)('is exact when the crash comes when %s', async (name, command, marker, k, when) => {
      // Prepare
      const tenant = `crash-${name.replace(/\W+/g, '-')}-${when}`.slice(0, 60);
      const token = await service.token(tenant, ['purge', 'download']);
      await seed(service.services, tenant, demoEvents({ count: 500, days: 30, now: NOW, seed: 11 }));
      const before = await allEntries(service.services, tenant);
      const through = before[399]?.id ?? -1;
      const crashing = createDynamoDbDocumentClient({
        region: 'us-east-1',
        dynamoDbEndpoint: process.env.TEST_DYNAMODB_ENDPOINT ?? '',
      });
      let calls = 0;
      crashing.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== command || !JSON.stringify(args.input).includes(marker))
            return next(args);
          const call = calls++;
          if (call === k && when === 'before') throw new Error('injected crash');
          const output = await next(args);
          if (call === k && when === 'after') throw new Error('injected crash');
          return output;
        },
        { step: 'initialize', name: 'crashAtStep' },
      );
      const { config } = service.services;
      const deps = {
        ...purgeDependencies(service.services, service.objects.archives),
        purges: new DynamoDbPurgeStore(crashing, {
          eventsTable: config.EVENTS_TABLE,
          controlTable: config.CONTROL_TABLE,
        }),
      };
      const started = await startPurge(deps, {
        tenant,
        throughId: through,
        requester: { kind: 'token', tokenId: 'tok_test', tokenName: 'test' },
      });
      if (started.kind === 'busy') throw new Error('another purge is running');
      await expect(runPurge(deps, tenant, started.job.jobId, Date.now() + 60_000)).rejects.toThrow(
        'injected crash',
      );
      const crashed = await service.services.purges.get(tenant, started.job.jobId);
      expect(crashed?.status).toBe('running');
      expect(crashed?.deleted).toBeLessThan(400);

      // Act
      const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

      // Assess
      expect(response.status).toBe(200);
      expect((response.body as { deleted: number }).deleted).toBe(400 - (crashed?.deleted ?? 0));
      const after = await allEntries(service.services, tenant);
      expect(after.filter((entry) => entry.id <= through)).toEqual([]);
      expect(since(before, after)).toEqual({
        kept: before.slice(400),
        added: [PURGE_ACTION, `POST ${PURGE} 200`].sort(),
      });
      const archived = await archivedLines(service, token);
      expect(archived).toEqual(linesOf(before.slice(0, 400)));
      expect(new Set(archived).size).toBe(400);
      expect(await counterMismatches(service.services, tenant)).toEqual([]);
      const job = await service.services.purges.get(tenant, started.job.jobId);
      expect(job).toMatchObject({ status: 'completed', deleted: 400, checkpoint: through });
    });
  });

  it('deletes nothing newer than id while entries are being ingested', async () => {
    // Prepare
    const tenant = 'racing';
    const token = await service.token(tenant, ['purge']);
    await seed(service.services, tenant, demoEvents({ count: 300, days: 10, now: NOW, seed: 12 }));
    const old = await allEntries(service.services, tenant);
    const through = old[old.length - 1]?.id ?? -1;
    let ingesting = true;
    const ingested: number[] = [];
    const ingest = (async () => {
      let round = 0;
      while (ingesting || round < 5) {
        const batch = demoEvents({ count: 5, days: 1, now: Date.now(), seed: 100 + round }).map((draft) => ({
          ...draft,
          timestamp: undefined,
        }));
        for (const record of await service.services.events.append(tenant, batch)) {
          if (record) ingested.push(record.id);
        }
        round += 1;
      }
    })();

    // Act
    const response = await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));
    ingesting = false;
    await ingest;

    // Assess
    expect(response.status).toBe(200);
    expect((response.body as { deleted: number }).deleted).toBe(300);
    const after = await allEntries(service.services, tenant);
    expect(after.filter((entry) => entry.id <= through)).toEqual([]);
    const survivors = new Set(after.map((entry) => entry.id));
    expect(ingested.length).toBeGreaterThan(0);
    expect(ingested.filter((id) => !survivors.has(id))).toEqual([]);
    expect(await counterMismatches(service.services, tenant)).toEqual([]);
  });

  it('archives lines that verify against their own hash', async () => {
    // Prepare
    const token = await service.token('verify', ['purge', 'download']);
    await seed(service.services, 'verify', demoEvents({ count: 30, days: 1, now: NOW, seed: 13 }));
    const through = (await allEntries(service.services, 'verify'))[29]?.id ?? -1;
    await service.request('POST', PURGE, form({ auth_token: token, id: String(through) }));

    // Act
    const lines = await archivedLines(service, token);

    // Assess
    expect(lines).toHaveLength(30);
    for (const line of lines) {
      const { hash, ...content } = JSON.parse(line) as { hash: string } & Parameters<typeof hashRecord>[0];
      expect(hashRecord(content)).toBe(hash);
    }
  });
});
