import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { EXPORT_JSON_NAME } from '../lambdas/domain/export.js';
import { parseVerifierKey } from '../lambdas/domain/tlog/note.js';
import { proofHeaderOf, TLOG_PROOF_FILE, verifyDownload } from '../lambdas/domain/tlog/proof-file.js';

/**
 * `npm run verify -- <download.zip> --key <verifier key>`: checks a download offline against the
 * log's public key (`GET /api/v1/tlog/key`, or what `npm start` prints). Prints a verdict; exits 0
 * when everything verifies, 1 naming the first bad entry, 2 when it cannot run. Uses only
 * `lambdas/domain/tlog/` (no AWS) and a zip reader.
 */

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
    },
  });
  const [path] = positionals;
  if (!path) {
    console.error('usage: npm run verify -- <download.zip> --key <name+keyid+base64key>');
    return 2;
  }
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
  let key = values.key ?? (values['key-file'] ? readFileSync(values['key-file'], 'utf8').trim() : undefined);
  if (!key) {
    key = String(proofHeaderOf(proof.toString('utf8'))?.key ?? '');
    console.warn(
      'WARNING: no --key given; checking against the key named inside the zip, which proves integrity only if you trust that key.',
    );
  }
  const verdict = verifyDownload({
    document: document.toString('utf8'),
    proof: proof.toString('utf8'),
    trusted: [parseVerifierKey(key)],
    earlier: (values.checkpoint ?? []).map((file) => readFileSync(file, 'utf8')),
  });
  if (verdict.ok) {
    console.log(
      `VERIFIED: ${verdict.entriesChecked} entries, every one in the signed log of ${verdict.treeSize} leaves` +
        (verdict.purgedLeaves > 0
          ? ` (${verdict.purgedLeaves} purged, each under a signed purge receipt)`
          : '') +
        `, key ${parseVerifierKey(key).name}`,
    );
    return 0;
  }
  const first =
    verdict.firstBadEntry !== undefined
      ? `first bad entry: ${verdict.firstBadEntry}`
      : 'no single entry to blame';
  console.log(`NOT VERIFIED (${first})`);
  for (const problem of verdict.problems.slice(0, 20)) console.log(`  - ${problem}`);
  if (verdict.problems.length > 20) console.log(`  … and ${verdict.problems.length - 20} more`);
  return 1;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`verify: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
