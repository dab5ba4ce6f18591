import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type ArchiveManifest,
  archiveLine,
  archiveProofKey,
  manifestKey,
  sha256Hex,
} from '../../lambdas/domain/purge.js';
import { type AuditRecord, hashRecord } from '../../lambdas/domain/record.js';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestConfig, type TestService } from '../helpers/local-service.js';
import { allEntries, form, seed } from '../helpers/purge-fixtures.js';
import { runVerify } from '../helpers/verify-cli.js';

const _run = promisify(execFile);
const NOW = Date.UTC(2026, 10, 1);
const CONFIG: TestConfig = { PURGE_PART_ENTRIES: '150', PURGE_REQUEST_BUDGET_MS: '25000' };

/** `npm run verify -- <dir> --key <key>`, as a user runs it: its exit code and output. */
const verify = (dir: string, key: string) => runVerify([dir, '--key', key]);

describe('purge archives carry their checkpoint, proofs and receipts, and verify offline', () => {
  let service: TestService;
  let token: string;
  let key: string;
  let dir: string;
  let jobId: string;
  let manifest: ArchiveManifest;

  /** GET /archives/{key} → 303 → the object's bytes. */
  const fetchArchive = async (archiveKey: string): Promise<Buffer> => {
    const redirect = await service.get(`/api/v1/audit_trail/archives/${archiveKey}`, { auth_token: token });
    const location = redirect.headers.get('location');
    if (redirect.status !== 303 || !location) throw new Error(`archive ${archiveKey}: ${redirect.status}`);
    return Buffer.from(await (await fetch(location)).arrayBuffer());
  };

  beforeAll(async () => {
    service = await startTestService({ config: CONFIG });
    token = await service.token('acme', ['purge', 'read', 'download']);
    await seed(service.services, 'acme', demoEvents({ count: 400, days: 20, now: NOW, seed: 17 }));
    // Sequenced and checkpointed first: the archive proves its entries against the tree.
    await service.settle();
    const through = (await allEntries(service.services, 'acme'))[249]?.id ?? -1;
    const purge = await service.request(
      'POST',
      '/api/v1/audit_trail/purge',
      form({ auth_token: token, id: String(through) }),
    );
    expect(purge.status).toBe(200);
    jobId = String((purge.body as { job_id: string }).job_id);
    key = ((await service.get('/api/v1/tlog/key', {}, { 'x-api-key': token })).body as { key: string }).key;
    // The archive as a user downloads it: manifest, parts and proof file, by their public keys.
    dir = mkdtempSync(join(tmpdir(), 'archive-'));
    const manifestBytes = await fetchArchive(manifestKey(jobId));
    writeFileSync(join(dir, manifestKey(jobId)), manifestBytes);
    manifest = JSON.parse(manifestBytes.toString('utf8')) as ArchiveManifest;
    for (const part of manifest.parts) writeFileSync(join(dir, part.key), await fetchArchive(part.key));
    writeFileSync(join(dir, archiveProofKey(jobId)), await fetchArchive(archiveProofKey(jobId)));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await service.stop();
  });

  /** A copy of the archive with `change` applied to it. */
  const tampered = (change: (copy: string) => void): string => {
    const copy = mkdtempSync(join(tmpdir(), 'archive-tampered-'));
    cpSync(dir, copy, { recursive: true });
    change(copy);
    return copy;
  };

  /** Rewrites one part's entries (as an attacker with bucket access would), manifest checksum too. */
  const rewritePart = (copy: string, change: (records: AuditRecord[]) => AuditRecord[]): void => {
    const part = manifest.parts[1] ?? manifest.parts[0];
    if (!part) throw new Error('no part');
    const file = join(copy, part.key);
    const records = gunzipSync(readFileSync(file))
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as AuditRecord);
    const body = gzipSync(`${change(records).map(archiveLine).join('\n')}\n`);
    writeFileSync(file, body);
    const edited = {
      ...manifest,
      parts: manifest.parts.map((one) => (one.key === part.key ? { ...one, sha256: sha256Hex(body) } : one)),
    };
    writeFileSync(join(copy, manifestKey(jobId)), JSON.stringify(edited));
  };

  it('verifies the archive offline: every entry logged, and purged under a signed receipt', async () => {
    expect(manifest.parts.length).toBe(2);
    const proof = readFileSync(join(dir, archiveProofKey(jobId)), 'utf8');
    const header = JSON.parse(proof.slice(0, proof.indexOf('\n'))) as Record<string, unknown>;
    expect(header).toMatchObject({ format: 'audit-trail-archive-proof/1', key, job_id: jobId });
    expect(header.key_id).toMatch(/^[0-9a-f]{8}$/);
    expect(proof).toContain('{"receipt":');
    const verdict = await verify(dir, key);
    expect(verdict.output).toMatch(
      new RegExp(
        `^VERIFIED: archive of purge ${jobId}: 250 entries, each in the signed log of \\d+ leaves`,
        'm',
      ),
    );
    expect(verdict.code).toBe(0);
  });

  it('names the first bad entry of a tampered archive (its hash recomputed, its checksum rewritten)', async () => {
    let victim = -1;
    const copy = tampered((at) =>
      rewritePart(at, (records) =>
        records.map((record, position) => {
          if (position !== 7) return record;
          victim = record.id;
          const { hash: _old, ...rest } = { ...record, message: `${record.message ?? ''} (edited)` };
          return { ...rest, hash: hashRecord(rest) };
        }),
      ),
    );
    try {
      const verdict = await verify(copy, key);
      expect(verdict.code).toBe(1);
      expect(verdict.output).toContain(`NOT VERIFIED (first bad entry: ${victim})`);
      expect(verdict.output).toContain(`entry ${victim} in part`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('fails when an archived entry is deleted, or the proof file is missing', async () => {
    const deleted = tampered((at) =>
      rewritePart(at, (records) => records.filter((_, position) => position !== 3)),
    );
    const noProof = tampered((at) => rmSync(join(at, archiveProofKey(jobId))));
    try {
      const one = await verify(deleted, key);
      expect(one.code).toBe(1);
      expect(one.output).toContain('is missing from the archive: deleted');
      const two = await verify(noProof, key);
      expect(two.code).toBe(1);
      expect(two.output).toContain('NOT VERIFIED');
    } finally {
      rmSync(deleted, { recursive: true, force: true });
      rmSync(noProof, { recursive: true, force: true });
    }
  });
});
