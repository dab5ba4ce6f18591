import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Thrown when another live process holds a data folder; its message says which and what to do. */
export class DataDirectoryBusyError extends Error {
  override readonly name = 'DataDirectoryBusyError';
}

/** Whether a process with this id is running (signal 0 only checks). */
export const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

interface Owner {
  readonly pid: number;
  readonly command: string;
}

const readOwner = (file: string): Owner | undefined => {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof owner.pid === 'number' ? { pid: owner.pid, command: String(owner.command) } : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Claims a data folder for this process: DynamoDB Local keeps one writer per data folder, so a
 * second one (`npm start` twice, or `npm run seed` next to `npm start`) must not start on it.
 * Writes `owner.json` (pid and command) exclusively; a claim whose process is gone is taken over.
 * Answers the function that releases the claim.
 *
 * @param directory the data folder (created if missing)
 * @param command what claims it, for the message another claimant gets (`npm start`)
 * @throws DataDirectoryBusyError when a live process holds the folder
 */
export const claimDataDirectory = (directory: string, command: string): (() => void) => {
  mkdirSync(directory, { recursive: true });
  const file = join(directory, 'owner.json');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(file, `${JSON.stringify({ pid: process.pid, command })}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readOwner(file)?.pid === process.pid) rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      if (owner && owner.pid !== process.pid && isRunning(owner.pid)) {
        throw new DataDirectoryBusyError(
          `${directory} is in use by ${owner.command} (pid ${owner.pid}); DynamoDB Local keeps one writer per data folder. Wait for it to finish or stop it, then try again.`,
        );
      }
      // Left by a process that is gone (or half written): take it over.
      rmSync(file, { force: true });
    }
  }
  throw new DataDirectoryBusyError(`Could not claim ${directory}: another process keeps claiming it.`);
};
