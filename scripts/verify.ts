import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { EXPORT_JSON_NAME } from '../lambdas/domain/export.js';
import type { ArchiveManifest } from '../lambdas/domain/purge.js';
import { ARCHIVE_PROOF_NAME, verifyArchive } from '../lambdas/domain/tlog/archive-proof.js';
import { type NoteVerifier, parseVerifierKey } from '../lambdas/domain/tlog/note.js';
import { TLOG_PROOF_FILE, type Verdict, verifyDownload } from '../lambdas/domain/tlog/proof-file.js';
import { verifySavedPage } from '../lambdas/domain/tlog/saved-page.js';

/**
 * `npm run verify -- <download.zip | archive directory | manifest.json | page.json> --key <verifier key>`:
 * checks a download, a purge archive (its manifest, parts and `tlog-proof.jsonl` in one
 * directory, named as the archives API or the bucket names them), or a page saved from any dialect
 * with `proofs=inclusion` (`--time-zone` as fetched, for a canary page fetched with `tz`), offline
 * against the log's public key (`GET /api/v1/tlog/key`, or what `npm start` prints). Prints a
 * verdict; exits 0 when everything verifies, 1 naming the first bad entry, 2 when it cannot run.
 * Uses only `lambdas/domain/` (no AWS) and a zip reader.
 */

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The first of `names` that exists in `dir`. */
const firstExisting = (dir: string, names: readonly string[]): string | undefined =>
  names.map((name) => join(dir, name)).find((file) => existsSync(file));

/** Reads an archive directory: its manifest, parts and proof file. */
const readArchive = (
  path: string,
):
  | { manifest: string; parts: Map<string, { text: string; sha256: string }>; proof: string; jobId: string }
  | string => {
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  const manifestFile = statSync(path).isDirectory()
    ? readdirSync(dir)
        .filter((name) => name.endsWith('manifest.json'))
        .map((name) => join(dir, name))[0]
    : path;
  if (!manifestFile) return `${path} holds no manifest.json`;
  const manifest = readFileSync(manifestFile, 'utf8');
  let parsed: ArchiveManifest;
  try {
    parsed = JSON.parse(manifest) as ArchiveManifest;
  } catch {
    return `${manifestFile} is not JSON: damaged or altered`;
  }
  const parts = new Map<string, { text: string; sha256: string }>();
  for (const part of Array.isArray(parsed.parts) ? parsed.parts : []) {
    const file = firstExisting(dir, [part.key, `${String(part.firstId).padStart(16, '0')}.jsonl.gz`]);
    if (!file) continue;
    const bytes = readFileSync(file);
    let text: string;
    try {
      text = gunzipSync(bytes).toString('utf8');
    } catch {
      text = '\u0000';
    }
    parts.set(part.key, { text, sha256: sha256(bytes) });
  }
  const proofFile = firstExisting(dir, [`${parsed.jobId}.${ARCHIVE_PROOF_NAME}`, ARCHIVE_PROOF_NAME]);
  if (!proofFile)
    return `${dir} holds no ${ARCHIVE_PROOF_NAME} (the archive of a job that has not completed?)`;
  return { manifest, parts, proof: readFileSync(proofFile, 'utf8'), jobId: String(parsed.jobId) };
};

const printFailure = (verdict: Pick<Verdict, 'firstBadEntry' | 'problems'>): void => {
  const first =
    verdict.firstBadEntry !== undefined
      ? `first bad entry: ${verdict.firstBadEntry}`
      : 'no single entry to blame';
  console.log(`NOT VERIFIED (${first})`);
  for (const problem of verdict.problems.slice(0, 20)) console.log(`  - ${problem}`);
  if (verdict.problems.length > 20) console.log(`  … and ${verdict.problems.length - 20} more`);
};

const headerKey = (proof: string): string => {
  console.warn(
    'WARNING: no --key given; checking against the key named inside the file, which proves integrity only if you trust that key.',
  );
  try {
    return String((JSON.parse(proof.slice(0, proof.indexOf('\n'))) as { key?: unknown }).key ?? '');
  } catch {
    return '';
  }
};

/** The verifier of `key`; undefined, having said why, when it is not a verifier key. */
const verifierOf = (key: string): NoteVerifier | undefined => {
  try {
    return parseVerifierKey(key);
  } catch (error) {
    console.error(`verify: the key is not a verifier key: ${(error as Error).message}`);
    return undefined;
  }
};

const verifyArchiveAt = async (path: string, givenKey: string | undefined): Promise<number> => {
  const archive = readArchive(path);
  if (typeof archive === 'string') {
    console.log(`NOT VERIFIED: ${archive}`);
    return 1;
  }
  const key = givenKey ?? headerKey(archive.proof);
  const verifier = verifierOf(key);
  if (!verifier) return 2;
  const verdict = await verifyArchive({ ...archive, trusted: [verifier] });
  if (verdict.ok) {
    console.log(
      `VERIFIED: archive of purge ${archive.jobId}: ${verdict.entriesChecked} entries, each in the signed log of ${verdict.treeSize} leaves and purged under a signed receipt, key ${verifier.name}`,
    );
    return 0;
  }
  printFailure(verdict);
  return 1;
};

/** A page saved from a dialect with `proofs=inclusion`: its key must be given (a page names none). */
const verifyPageAt = (path: string, key: string | undefined, timeZone: string | undefined): number => {
  if (!key) {
    console.error("verify: a page names no key; give the log's public key with --key or --key-file");
    return 2;
  }
  let page: unknown;
  try {
    page = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    console.log(`NOT VERIFIED: ${path} is not JSON: damaged or altered`);
    return 1;
  }
  const verifier = verifierOf(key);
  if (!verifier) return 2;
  const verdict = verifySavedPage(page, { trusted: [verifier], ...(timeZone ? { timeZone } : {}) });
  if (verdict.ok) {
    console.log(
      `VERIFIED: ${verdict.dialect} page: ${verdict.proven} entries, each as shown in the signed log of ${verdict.treeSize} leaves` +
        (verdict.uncovered > 0
          ? ` (${verdict.uncovered} written after its checkpoint, not covered yet)`
          : '') +
        `, key ${verifier.name}`,
    );
    return 0;
  }
  printFailure(verdict);
  return 1;
};

const readZip = (bytes: Buffer): Promise<Map<string, Buffer>> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('not a zip'));
      const files = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (openError, stream) => {
          if (openError || !stream) return reject(openError ?? new Error('unreadable entry'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(files));
      zip.on('error', reject);
      zip.readEntry();
    });
  });

const main = async (): Promise<number> => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      'key-file': { type: 'string' },
      // A signed checkpoint kept from before (a file): the download's log must extend it.
      checkpoint: { type: 'string', multiple: true },
      // A canary page fetched with tz shows its times in that zone.
      'time-zone': { type: 'string' },
    },
  });
  const [path] = positionals;
  if (!path) {
    console.error(
      'usage: npm run verify -- <download.zip | archive directory | manifest.json | page.json> --key <name+keyid+base64key>',
    );
    return 2;
  }
  const givenKey =
    values.key ?? (values['key-file'] ? readFileSync(values['key-file'], 'utf8').trim() : undefined);
  if (statSync(path).isDirectory() || path.endsWith('manifest.json')) return verifyArchiveAt(path, givenKey);
  if (path.endsWith('.json')) return verifyPageAt(path, givenKey, values['time-zone']);
  const bytes = readFileSync(path);
  let files: Map<string, Buffer>;
  try {
    files = await readZip(bytes.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])) ? gunzipSync(bytes) : bytes);
  } catch (error) {
    console.log(
      `NOT VERIFIED: ${path} is not a readable zip (${(error as Error).message}): it was damaged or altered`,
    );
    return 1;
  }
  const document = files.get(EXPORT_JSON_NAME);
  const proof = files.get(TLOG_PROOF_FILE);
  if (!document || !proof) {
    console.error(`NOT VERIFIED: ${path} has no ${document ? TLOG_PROOF_FILE : EXPORT_JSON_NAME}`);
    return 1;
  }
  const verifier = verifierOf(givenKey ?? headerKey(proof.toString('utf8')));
  if (!verifier) return 2;
  const verdict = verifyDownload({
    document: document.toString('utf8'),
    proof: proof.toString('utf8'),
    trusted: [verifier],
    earlier: (values.checkpoint ?? []).map((file) => readFileSync(file, 'utf8')),
  });
  if (verdict.ok) {
    console.log(
      `VERIFIED: ${verdict.entriesChecked} entries, every one in the signed log of ${verdict.treeSize} leaves` +
        (verdict.purgedLeaves > 0
          ? ` (${verdict.purgedLeaves} purged, each under a signed purge receipt)`
          : '') +
        `, key ${verifier.name}`,
    );
    return 0;
  }
  printFailure(verdict);
  return 1;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`verify: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
