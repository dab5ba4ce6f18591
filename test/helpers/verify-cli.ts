import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `npm run verify -- <args>`, as a user runs it: its exit code and what it printed. */
export const runVerify = async (args: readonly string[]): Promise<{ code: number; output: string }> => {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', ...args]);
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
};

/** {@link runVerify} on `content` saved as a file named `name` in a scratch directory, then `args`. */
export const verifySavedFile = async (
  name: string,
  content: string | Buffer,
  args: readonly string[],
): Promise<{ code: number; output: string }> => {
  const dir = mkdtempSync(join(tmpdir(), 'verify-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, content);
    return await runVerify([file, ...args]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
