import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What `unzip` makes of a zip: whether `unzip -t` passes, the names it holds and one member's text. */
export const inspectZip = (
  zip: Uint8Array,
  member: string,
): { testOk: boolean; names: string[]; text: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'zip-'));
  try {
    const file = join(dir, 'out.zip');
    writeFileSync(file, zip);
    let testOk = true;
    try {
      execFileSync('unzip', ['-tq', file], { stdio: 'pipe' });
    } catch {
      testOk = false;
    }
    const names = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    const text = execFileSync('unzip', ['-p', file, member], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024 * 1024,
    });
    return { testOk, names, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
