import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { toApiKeyEntry } from '../../lambdas/domain/api-key-view.js';
import { toCanaryEntry } from '../../lambdas/domain/canary-view.js';
import { toKoreEntry } from '../../lambdas/domain/kore-view.js';
import { encodeSignerKey, parseSignerKey } from '../../lambdas/domain/tlog/note.js';
import { type PageProofs, verifyPageProofs } from '../../lambdas/domain/tlog/page-proofs.js';
import { verifySavedPage } from '../../lambdas/domain/tlog/saved-page.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { verifySavedFile } from '../helpers/verify-cli.js';

const FETCH = '/api/v1/audit_trail/fetch';
const KORE = '/api/public/auditlogs';
const API_KEY = '/api/v1/audit-trail';
const ORIGIN = 'audit-trail.local/acme';

type Entry = Record<string, unknown>;
interface CanaryPage {
  audit_trail: Entry[];
  cursor: { next: string | null };
  tlog?: PageProofs;
}

const canaryId = (entry: unknown) => (entry as { id?: number }).id;

/** A deep copy, so a test can tamper with one answer and keep the other. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** `npm run verify -- <page.json> [args]` on a saved page body: its exit code and what it printed. */
const verifyPageFile = (body: string, args: readonly string[]) => verifySavedFile('page.json', body, args);

describe('a page with its inclusion proofs (proofs=inclusion)', () => {
  let service: TestService;
  let token: string;
  let key: string;

  beforeAll(async () => {
    // Every request waits for the stream consumer, so the latest checkpoint covers what it reads.
    service = await startTestService({ settleBeforeRequests: true });
    token = await service.token('acme', ['read']);
    await service.services.events.append(
      'acme',
      Array.from({ length: 120 }, (_, n) => ({
        action_type: n % 3 === 0 ? 'doc.write' : 'doc.read',
        user: `u${n % 4}`,
        message: `entry ${n}`,
      })),
    );
    key = String(((await service.get('/api/v1/tlog/key', {}, { 'x-api-key': token })).body as Entry).key);
  });
  afterAll(async () => service.stop());

  const canary = async (query: Record<string, string>) => {
    const answer = await service.get(FETCH, { auth_token: token, ...query });
    expect(answer.status).toBe(200);
    return answer.body as CanaryPage;
  };

  it('leaves the default answer as the dialect has it', async () => {
    const page = await canary({ limit: '10' });
    expect(Object.keys(page).sort()).toEqual([
      'audit_trail',
      'cursor',
      'page_count',
      'page_number',
      'result',
    ]);
  });

  it('proves every entry of a canary page, page after page, with only the public key', async () => {
    const first = await canary({ limit: '50', proofs: 'inclusion' });
    const second = await canary({ cursor: first.cursor.next ?? '', proofs: 'inclusion' });
    for (const page of [first, second]) {
      const verdict = verifyPageProofs({
        shown: page.audit_trail,
        proofs: page.tlog,
        trusted: [key],
        view: (record) => toCanaryEntry(record),
        idOf: canaryId,
        origin: ORIGIN,
        requireAll: true,
      });
      expect(verdict).toMatchObject({ ok: true, problems: [], proven: 50, uncovered: 0 });
      expect(page.tlog?.entries.map((entry) => entry.id)).toEqual(page.audit_trail.map(canaryId));
    }
    // The proofs are against one signed checkpoint that holds every entry read.
    expect(second.tlog?.tree_size).toBeGreaterThanOrEqual(120);
  });

  it('names the entry a changed page, a changed proof or a foreign key gives away', async () => {
    const page = await canary({ limit: '20', proofs: 'inclusion' });
    const check = (shown: Entry[], proofs: unknown, trusted = [key]) =>
      verifyPageProofs({ shown, proofs, trusted, view: (record) => toCanaryEntry(record), idOf: canaryId });
    expect(check(page.audit_trail, page.tlog).ok).toBe(true);

    const altered = copy(page.audit_trail);
    const victim = altered[7] as Entry;
    victim.message = 'nothing happened here';
    expect(check(altered, page.tlog)).toMatchObject({ ok: false, firstBadEntry: victim.id });

    const forgedProof = copy(page.tlog) as PageProofs & { entries: { proof: string[] }[] };
    const proofVictim = forgedProof.entries[3];
    if (!proofVictim) throw new Error('no proof');
    proofVictim.proof[0] = Buffer.alloc(32, 7).toString('base64');
    expect(check(page.audit_trail, forgedProof)).toMatchObject({
      ok: false,
      firstBadEntry: page.audit_trail[3]?.id,
    });

    // An entry the checkpoint does not cover yet is fine, unless the reader asks for all covered.
    const pending = copy(page.tlog) as PageProofs & { entries: unknown[]; unlogged: number[] };
    const [moved] = pending.entries.splice(5, 1) as { id: number }[];
    pending.unlogged.push(moved?.id ?? 0);
    expect(check(page.audit_trail, pending)).toMatchObject({ ok: true, proven: 19, uncovered: 1 });
    expect(
      verifyPageProofs({
        shown: page.audit_trail,
        proofs: pending,
        trusted: [key],
        view: (record) => toCanaryEntry(record),
        idOf: canaryId,
        requireAll: true,
      }),
    ).toMatchObject({ ok: false, firstBadEntry: moved?.id });
    // Dropping an entry's proof without listing it is caught.
    const dropped = copy(page.tlog) as PageProofs & { entries: unknown[] };
    dropped.entries.splice(5, 1);
    expect(check(page.audit_trail, dropped)).toMatchObject({ ok: false, firstBadEntry: moved?.id });

    const inserted = [...page.audit_trail, { ...page.audit_trail[0], id: 1 }];
    expect(check(inserted, page.tlog)).toMatchObject({ ok: false, firstBadEntry: 1 });

    // Same name, another key: a checkpoint the service signed must not verify with it.
    const stranger = parseSignerKey(encodeSignerKey('audit-trail.local', new Uint8Array(32).fill(9)));
    const foreign = check(page.audit_trail, page.tlog, [stranger.verifier.encoded]);
    expect(foreign.ok).toBe(false);
    expect(foreign.problems[0]).toMatch(/checkpoint does not verify/);
  });

  it('verifies a saved page offline with `npm run verify`, and names the entry one changed byte alters', async () => {
    const answer = await service.get(FETCH, { auth_token: token, limit: '25', proofs: 'inclusion' });
    const body = JSON.stringify(answer.body);
    const good = await verifyPageFile(body, ['--key', key]);
    expect(good).toEqual({ code: 0, output: expect.stringMatching(/^VERIFIED: canary page: 25 entries/) });

    const page = answer.body as CanaryPage;
    const victim = page.audit_trail[11] as Entry;
    // One character of one message, as a reader of the saved file might change it.
    const tampered = body.replace(
      `"message":"${String(victim.message)}"`,
      `"message":"${String(victim.message)}!"`,
    );
    expect(tampered).not.toBe(body);
    const bad = await verifyPageFile(tampered, ['--key', key]);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain(`NOT VERIFIED (first bad entry: ${String(victim.id)})`);
    expect(bad.output).toContain('differs from its logged form');

    // A page names no key: without one nothing is claimed.
    expect(await verifyPageFile(body, [])).toMatchObject({
      code: 2,
      output: expect.stringContaining('--key'),
    });
    // Not a page at all.
    expect(await verifyPageFile('{"result":"success"}', ['--key', key])).toMatchObject({
      code: 1,
      output: expect.stringContaining('not a page of a known dialect'),
    });
  });

  it('verifies a saved page of each dialect by its shape, a zoned canary page with its time zone', async () => {
    const zoned = await canary({ limit: '10', proofs: 'inclusion', tz: 'Europe/Berlin' });
    expect(verifySavedPage(zoned, { trusted: [key] })).toMatchObject({
      ok: false,
      problems: [expect.stringContaining('with tz')],
    });
    expect(verifySavedPage(zoned, { trusted: [key], timeZone: 'Europe/Berlin' })).toMatchObject({
      ok: true,
      dialect: 'canary',
      proven: 10,
    });
    // The wrong zone shows other times: not the logged entries' view.
    expect(verifySavedPage(zoned, { trusted: [key], timeZone: 'Asia/Tokyo' }).ok).toBe(false);
    const apiKey = await service.get(
      API_KEY,
      { 'page[size]': '5', proofs: 'inclusion' },
      { 'x-api-key': token },
    );
    expect(verifySavedPage(apiKey.body, { trusted: [key] })).toMatchObject({ ok: true, dialect: 'api-key' });
    const stripped = copy(apiKey.body) as { meta?: unknown };
    delete stripped.meta;
    expect(verifySavedPage(stripped, { trusted: [key] })).toMatchObject({
      ok: false,
      dialect: 'api-key',
      problems: [expect.stringContaining('carries no')],
    });
  });

  it('answers a tenant without a sequenced entry with no checkpoint and nothing to prove', async () => {
    const empty = await service.token('initech', ['read']);
    const answer = await service.get(FETCH, { auth_token: empty, proofs: 'inclusion' });
    expect(answer.status).toBe(200);
    expect((answer.body as CanaryPage).tlog).toEqual({
      format: 'audit-trail-page-proofs/1',
      checkpoint: null,
      tree_size: 0,
      entries: [],
      unlogged: [],
    });
  });

  it('proves a kore page and an api-key page in their own views', async () => {
    // kore
    const app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'acme', scopes: ['read'] },
      service.services.tenants,
    );
    const jwt = await koreJwt(app.appId, app.clientSecret);
    const kore = await service.get(KORE, { size: '30', proofs: 'inclusion' }, { auth: jwt });
    expect(kore.status).toBe(200);
    const korePage = kore.body as { auditlogs: Entry[]; tlog: PageProofs };
    expect(korePage.auditlogs).toHaveLength(30);
    expect(
      verifyPageProofs({
        shown: korePage.auditlogs,
        proofs: korePage.tlog,
        trusted: [key],
        view: (record) => toKoreEntry(record),
        idOf: (entry) => Number((entry as { AuditLogId: string }).AuditLogId),
        requireAll: true,
      }),
    ).toMatchObject({ ok: true, proven: 30 });

    // api-key: the service's own api_request records (the calls above), proofs under meta.
    const apiKey = await service.get(
      API_KEY,
      { 'page[size]': '5', proofs: 'inclusion' },
      { 'x-api-key': token },
    );
    expect(apiKey.status).toBe(200);
    const apiKeyPage = apiKey.body as {
      data: Entry[];
      links: { self: string; next: string | null };
      meta: { tlog: PageProofs };
    };
    expect(apiKeyPage.data.length).toBeGreaterThan(0);
    expect(apiKeyPage.links.next ?? '').toContain('proofs=inclusion');
    expect(
      verifyPageProofs({
        shown: apiKeyPage.data,
        proofs: apiKeyPage.meta.tlog,
        trusted: [key],
        view: (record) => toApiKeyEntry(record),
        idOf: (entry) => Number((entry as { id: string }).id),
        requireAll: true,
      }),
    ).toMatchObject({ ok: true, proven: apiKeyPage.data.length });
    // Another value is refused in kore's shape.
    const refused = await service.get(KORE, { proofs: 'yes' }, { auth: jwt });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ errors: [{ msg: expect.stringContaining('proofs'), code: 400 }] });
    // Without the parameter the api-key answer is the seed's: no meta.
    const plain = await service.get(API_KEY, { 'page[size]': '5' }, { 'x-api-key': token });
    expect(Object.keys(plain.body as object).sort()).toEqual(['data', 'links']);
  });

  it.each([
    ['canary', FETCH, 'auth_token'],
    ['api-key', API_KEY, 'x-api-key'],
  ])('refuses another proofs value with 400 in the %s shape', async (dialect, path, credential) => {
    const query = { proofs: 'all' };
    const answer =
      credential === 'auth_token'
        ? await service.get(path, { ...query, auth_token: token })
        : await service.get(path, query, { 'x-api-key': token });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('proofs must be \\"inclusion\\"');
    if (dialect === 'canary') expect(answer.body).toMatchObject({ result: 'error' });
    else
      expect(answer.body).toMatchObject({
        name: 'BadRequest',
        status: 400,
        message: { errors: [{ field: 'proofs' }] },
      });
  });
});
