import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Where `npm start` tells operator scripts how to reach the running local stack. */
const FILE = '.local/endpoints.json';

export interface LocalEndpoints {
  readonly pid: number;
  readonly url: string;
  readonly env: Record<string, string>;
}

/** Records the running local stack (called by `npm start`). */
export const writeLocalEndpoints = (endpoints: LocalEndpoints): void => {
  writeFileSync(FILE, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600 });
};

/** Forgets the local stack (called when `npm start` stops). */
export const clearLocalEndpoints = (): void => rmSync(FILE, { force: true });

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The running local stack, if `npm start` is up. */
export const readLocalEndpoints = (): LocalEndpoints | undefined => {
  if (!existsSync(FILE)) return undefined;
  const endpoints = JSON.parse(readFileSync(FILE, 'utf8')) as LocalEndpoints;
  return isRunning(endpoints.pid) ? endpoints : undefined;
};
