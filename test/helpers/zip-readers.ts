import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { inspectZip } from './zip.js';

/** What one independent reader made of a zip: whether its own check passed, the names, each file's text. */
export interface ZipReading {
  readonly ok: boolean;
  readonly names: string[];
  readonly files: Record<string, string>;
}

/** Python's `zipfile`: `testzip()` (every CRC checked) and each member's text. */
export const readWithPython = (zip: Uint8Array): ZipReading => {
  const dir = mkdtempSync(join(tmpdir(), 'zip-py-'));
  try {
    const file = join(dir, 'in.zip');
    writeFileSync(file, zip);
    const script = [
      'import json, sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1]) as z:',
      '    bad = z.testzip()',
      '    names = z.namelist()',
      "    files = {n: z.read(n).decode('utf-8') for n in names}",
      "print(json.dumps({'ok': bad is None, 'names': names, 'files': files}))",
    ].join('\n');
    const out = execFileSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 30 });
    return JSON.parse(out) as ZipReading;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** yauzl (strict: validates entry sizes, and the CRC-32 while reading through its stream check). */
export const readWithYauzl = (zip: Uint8Array): Promise<ZipReading> =>
  new Promise((resolve, reject) => {
    yauzl.fromBuffer(
      Buffer.from(zip),
      { lazyEntries: true, validateEntrySizes: true, strictFileNames: true },
      (error, archive) => {
        if (error || !archive) {
          reject(error ?? new Error('no zip'));
          return;
        }
        const names: string[] = [];
        const files: Record<string, string> = {};
        archive.on('error', reject);
        archive.on('end', () => resolve({ ok: true, names, files }));
        archive.on('entry', (entry: yauzl.Entry) => {
          names.push(entry.fileName);
          archive.openReadStream(entry, (streamError, stream) => {
            if (streamError || !stream) {
              reject(streamError ?? new Error('no stream'));
              return;
            }
            const chunks: Buffer[] = [];
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            stream.on('error', reject);
            stream.on('end', () => {
              files[entry.fileName] = Buffer.concat(chunks).toString('utf8');
              archive.readEntry();
            });
          });
        });
        archive.readEntry();
      },
    );
  });

/** Info-ZIP `unzip`: `unzip -t`, the names, and the JSON document's text. */
export const readWithUnzip = (zip: Uint8Array, member: string): ZipReading => {
  const { testOk, names, text } = inspectZip(zip, member);
  return { ok: testOk, names, files: { [member]: text } };
};

/** The three readers' verdicts on `zip`, each with `member`'s text. */
export const readWithAll = async (zip: Uint8Array, member: string) => ({
  unzip: readWithUnzip(zip, member),
  python: readWithPython(zip),
  yauzl: await readWithYauzl(zip),
});

/** True when `zip` has a ZIP64 end of central directory record. */
export const hasZip64End = (zip: Uint8Array): boolean =>
  Buffer.from(zip).lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06])) >= 0;
