import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { EXPORT_JSON_NAME } from '../../lambdas/domain/export.js';
import { proofHeaderOf, TLOG_PROOF_FILE } from '../../lambdas/domain/tlog/proof-file.js';
import { DOWNLOAD } from '../helpers/downloads.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { verifySavedFile } from '../helpers/verify-cli.js';

const _run = promisify(execFile);

const unzip = (bytes: Buffer): Promise<Map<string, Buffer>> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const files = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (openError, stream) => {
          if (openError || !stream) return reject(openError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        }),
      );
      zip.on('end', () => resolve(files));
      zip.readEntry();
    });
  });

const rezip = (files: Map<string, Buffer>): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const [name, content] of files) zip.addBuffer(content, name);
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });

/** `npm run verify -- <zip> --key <key>`, as a user runs it: its exit code and output. */
const verify = (zip: Buffer, key: string) => verifySavedFile('download.zip', zip, ['--key', key]);

describe('downloads carry the verifiable log, and verify offline', () => {
  let service: TestService;
  let token: string;
  let key: string;
  let zip: Buffer;

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('acme', ['read', 'download', 'purge']);
    await service.services.events.append(
      'acme',
      Array.from({ length: 120 }, (_, n) => ({
        action_type: n % 2 ? 'doc.read' : 'doc.write',
        user: `user-${n % 5}`,
        message: `entry ${n}`,
        additional_information: { n },
      })),
    );
    // The download waits at most TLOG_EXPORT_WAIT_MS (1 s) for the sequencer; these entries are
    // sequenced and checkpointed first, so the proof covers every one of them.
    await service.settle();
    const keyAnswer = await service.get('/api/v1/tlog/key', {}, { 'x-api-key': token });
    key = (keyAnswer.body as { key: string }).key;
    const answer = await fetch(new URL(`${DOWNLOAD}?auth_token=${token}`, service.url));
    expect(answer.status).toBe(200);
    zip = Buffer.from(await answer.arrayBuffer());
  });
  afterAll(async () => service.stop());

  it('adds tlog-proof.jsonl beside the unchanged document, and verify accepts the download', async () => {
    const files = await unzip(zip);
    expect([...files.keys()]).toEqual([EXPORT_JSON_NAME, TLOG_PROOF_FILE]);
    const proof = String(files.get(TLOG_PROOF_FILE));
    expect(proofHeaderOf(proof)?.key).toBe(key);
    // JSON Lines: the header, the leaves, one line per entry, the receipts, the end line.
    const lines = proof.trimEnd().split('\n');
    expect(JSON.parse(lines[lines.length - 1] as string)).toEqual({
      end: { leaves: expect.any(Number), entries: expect.any(Number), receipts: 0 },
    });
    const document = JSON.parse(String(files.get(EXPORT_JSON_NAME))) as { audit_trail: { id: number }[] };
    expect(document.audit_trail.length).toBeGreaterThanOrEqual(120);
    const verdict = await verify(zip, key);
    expect(verdict.output).toMatch(/^VERIFIED: \d+ entries/m);
    expect(verdict.code).toBe(0);
  });

  it('fails, naming the entry, when one byte of the document is changed', async () => {
    const files = await unzip(zip);
    const text = String(files.get(EXPORT_JSON_NAME));
    const at = text.indexOf('entry 42');
    const victim = (JSON.parse(text) as { audit_trail: { id: number; message: string }[] }).audit_trail.find(
      (entry) => entry.message === 'entry 42',
    );
    files.set(EXPORT_JSON_NAME, Buffer.from(`${text.slice(0, at)}entry 43${text.slice(at + 8)}`));
    const verdict = await verify(await rezip(files), key);
    expect(verdict.code).toBe(1);
    expect(verdict.output).toContain(`NOT VERIFIED (first bad entry: ${victim?.id})`);
  });

  it('fails when any byte of the zip itself is flipped, and with another key', async () => {
    const flipped = Buffer.from(zip);
    const position = Math.floor(flipped.length / 3);
    flipped[position] = (flipped[position] ?? 0) ^ 0x01;
    const damaged = await verify(flipped, key);
    expect(damaged.code).toBe(1);
    expect(damaged.output).toContain('NOT VERIFIED');
    const stranger = 'audit-trail.local+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const wrongKey = await verify(zip, stranger);
    expect(wrongKey.code).not.toBe(0);
  });

  it('keeps verifying after a purge: purged leaves stay in the tree, under signed receipts', async () => {
    const files = await unzip(zip);
    const document = JSON.parse(String(files.get(EXPORT_JSON_NAME))) as { audit_trail: { id: number }[] };
    const oldestFirst = document.audit_trail.map((entry) => entry.id).sort((a, b) => a - b);
    const through = oldestFirst[39] as number;
    const purge = await service.request('POST', '/api/v1/audit_trail/purge', {
      query: { auth_token: token, id: String(through) },
    });
    expect(purge.status).toBe(200);
    await service.settle();
    const answer = await fetch(new URL(`${DOWNLOAD}?auth_token=${token}`, service.url));
    const after = Buffer.from(await answer.arrayBuffer());
    const proof = String((await unzip(after)).get(TLOG_PROOF_FILE));
    expect(proof).toContain('{"receipt":');
    const verdict = await verify(after, key);
    expect(verdict.output).toMatch(
      /VERIFIED: \d+ entries, every one in the signed log of \d+ leaves \(40 purged/,
    );
    expect(verdict.code).toBe(0);
  });

  it('catches an entry deleted from the table behind the purge', async () => {
    const files = await unzip(zip);
    const document = JSON.parse(String(files.get(EXPORT_JSON_NAME))) as { audit_trail: { id: number }[] };
    const victim = document.audit_trail[5]?.id as number;
    await service.services.doc.send(
      new DeleteCommand({
        TableName: service.services.config.EVENTS_TABLE,
        Key: { tenant: 'acme', id: victim },
      }),
    );
    const answer = await fetch(new URL(`${DOWNLOAD}?auth_token=${token}`, service.url));
    const verdict = await verify(Buffer.from(await answer.arrayBuffer()), key);
    expect(verdict.code).toBe(1);
    expect(verdict.output).toContain('an entry was deleted');
  });
});
