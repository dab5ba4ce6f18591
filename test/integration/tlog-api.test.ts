import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openCheckpoint } from '../../lambdas/domain/tlog/checkpoint.js';
import { entryLeafHash } from '../../lambdas/domain/tlog/entry-leaf.js';
import { sameHash, verifyConsistency, verifyInclusion } from '../../lambdas/domain/tlog/merkle.js';
import { parseSignerKey, parseVerifierKey } from '../../lambdas/domain/tlog/note.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

interface Answer {
  readonly [field: string]: unknown;
}

const b64 = (text: unknown) => new Uint8Array(Buffer.from(String(text), 'base64'));

describe('the verifiable log API', () => {
  let service: TestService;
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('acme', ['read', 'ingest']);
    otherToken = await service.token('globex', ['read']);
  });
  afterAll(async () => service.stop());

  const get = (path: string, query: Record<string, string> = {}, as = token) =>
    service.get(path, query, { 'x-api-key': as });

  it('serves the checkpoint key, a signed checkpoint, and proofs that verify against it', async () => {
    const key = await get('/api/v1/tlog/key');
    expect(key.status).toBe(200);
    const verifier = parseVerifierKey(String((key.body as Answer).key));
    expect(verifier.encoded).toBe(parseSignerKey(service.env.TLOG_SIGNING_KEY ?? '').verifier.encoded);
    expect((key.body as Answer).origin).toBe('audit-trail.local/acme');

    const first = await service.services.events.append(
      'acme',
      Array.from({ length: 30 }, (_, n) => ({ action_type: 'doc.read', user: `u${n % 4}` })),
    );
    await service.settle();
    const early = await get('/api/v1/tlog/checkpoint');
    expect(early.status).toBe(200);
    const earlyCheckpoint = openCheckpoint(
      String((early.body as Answer).checkpoint),
      [verifier],
      'audit-trail.local/acme',
    );
    // The log holds the 30 entries and the self-audit records of the calls made so far.
    expect(earlyCheckpoint.size).toBeGreaterThanOrEqual(30);

    const more = await service.services.events.append(
      'acme',
      Array.from({ length: 20 }, () => ({ action_type: 'doc.write' })),
    );
    await service.settle();
    const late = await get('/api/v1/tlog/checkpoint');
    const checkpoint = openCheckpoint(
      String((late.body as Answer).checkpoint),
      [verifier],
      'audit-trail.local/acme',
    );
    expect(checkpoint.size).toBeGreaterThanOrEqual(earlyCheckpoint.size + 20);
    expect(sameHash(b64((late.body as Answer).root_hash), checkpoint.root)).toBe(true);

    for (const record of [first[0], first[17], more[19]]) {
      if (!record) throw new Error('no entry');
      // At the checkpoint read above: each API call's own self-audit record is sequenced (and
      // checkpointed) behind it, so the latest checkpoint may have moved on by now.
      const answer = await get('/api/v1/tlog/proof/inclusion', {
        id: String(record.id),
        tree_size: String(checkpoint.size),
      });
      expect(answer.status).toBe(200);
      const proof = answer.body as Answer;
      expect(proof.tree_size).toBe(checkpoint.size);
      expect(sameHash(b64(proof.leaf_hash), entryLeafHash(record))).toBe(true);
      expect(
        verifyInclusion(
          Number(proof.leaf_index),
          checkpoint.size,
          entryLeafHash(record),
          (proof.proof as string[]).map(b64),
          checkpoint.root,
        ),
      ).toBe(true);
    }
    // At an older size: proves against the older checkpoint.
    const atEarly = await get('/api/v1/tlog/proof/inclusion', {
      id: String(first[3]?.id),
      tree_size: String(earlyCheckpoint.size),
    });
    const earlyProof = atEarly.body as Answer;
    expect(
      verifyInclusion(
        Number(earlyProof.leaf_index),
        earlyCheckpoint.size,
        entryLeafHash(first[3] as never),
        (earlyProof.proof as string[]).map(b64),
        earlyCheckpoint.root,
      ),
    ).toBe(true);

    const consistency = await get('/api/v1/tlog/proof/consistency', {
      first: String(earlyCheckpoint.size),
      second: String(checkpoint.size),
    });
    expect(consistency.status).toBe(200);
    expect(
      verifyConsistency(
        earlyCheckpoint.size,
        checkpoint.size,
        earlyCheckpoint.root,
        checkpoint.root,
        ((consistency.body as Answer).proof as string[]).map(b64),
      ),
    ).toBe(true);
  });

  it("shows a tenant only its own log: another tenant's entry is a 404, its own empty log too", async () => {
    const [entry] = await service.services.events.append('acme', [{ action_type: 'secret.thing' }]);
    await service.settle();
    const foreign = await get('/api/v1/tlog/proof/inclusion', { id: String(entry?.id) }, otherToken);
    expect(foreign.status).toBe(404);
    expect((foreign.body as Answer).result).toBe('error');
  });

  it('answers every bad parameter with a 4xx in the canary error shape', async () => {
    await service.services.events.append('acme', [{ action_type: 'x' }]);
    await service.settle();
    const cases: [string, Record<string, string>, number][] = [
      ['/api/v1/tlog/proof/inclusion', {}, 400],
      ['/api/v1/tlog/proof/inclusion', { id: 'abc' }, 400],
      ['/api/v1/tlog/proof/inclusion', { id: '1', tree_size: '0' }, 400],
      ['/api/v1/tlog/proof/inclusion', { id: '1', tree_size: '99999999999' }, 400],
      ['/api/v1/tlog/proof/inclusion', { id: '12345' }, 404],
      ['/api/v1/tlog/proof/consistency', {}, 400],
      ['/api/v1/tlog/proof/consistency', { first: '-1' }, 400],
      ['/api/v1/tlog/proof/consistency', { first: '5', second: '2' }, 400],
      ['/api/v1/tlog/proof/consistency', { first: '1', second: '99999999999' }, 400],
    ];
    for (const [path, query, status] of cases) {
      const answer = await get(path, query);
      expect([path, query, answer.status]).toEqual([path, query, status]);
      expect((answer.body as Answer).result).toBe('error');
    }
    const anonymous = await service.get('/api/v1/tlog/checkpoint');
    expect(anonymous.status).toBe(401);
  });
});
