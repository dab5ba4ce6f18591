import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isRunning } from '../local/data-lock.js';

/** Where `npm start` tells operator scripts how to reach the running local stack. */
const FILE = '.local/endpoints.json';

/**
 * The variables operator scripts need to reach the local stack's tables and buckets. Never
 * secrets: the cursor key stays out of this file (in memory it is kept nowhere at all).
 */
export const ENDPOINT_VARIABLES = [
  'EVENTS_TABLE',
  'CONTROL_TABLE',
  'EXPORTS_BUCKET',
  'ARCHIVE_BUCKET',
  'AWS_REGION',
  'DYNAMODB_ENDPOINT',
  'DYNAMODB_LOCAL_DATABASE',
  'S3_ENDPOINT',
] as const;

export interface LocalEndpoints {
  readonly pid: number;
  readonly url: string;
  /** Whether the stack keeps nothing (`npm start -- --in-memory`). */
  readonly inMemory: boolean;
  readonly env: Partial<Record<(typeof ENDPOINT_VARIABLES)[number], string>>;
}

/** Records the running local stack (called by `npm start`, in memory or not); keeps only ENDPOINT_VARIABLES. */
export const writeLocalEndpoints = (endpoints: {
  pid: number;
  url: string;
  inMemory: boolean;
  env: Readonly<Record<string, string>>;
}): void => {
  const env = Object.fromEntries(
    ENDPOINT_VARIABLES.filter((name) => endpoints.env[name] !== undefined).map((name) => [
      name,
      endpoints.env[name],
    ]),
  );
  const recorded: LocalEndpoints = {
    pid: endpoints.pid,
    url: endpoints.url,
    inMemory: endpoints.inMemory,
    env,
  };
  mkdirSync(dirname(FILE), { recursive: true });
  writeFileSync(FILE, `${JSON.stringify(recorded, null, 2)}\n`, { mode: 0o600 });
};

/** Forgets the local stack (called when `npm start` stops), unless another process recorded itself. */
export const clearLocalEndpoints = (): void => {
  try {
    const recorded = JSON.parse(readFileSync(FILE, 'utf8')) as Partial<LocalEndpoints>;
    if (recorded.pid !== undefined && recorded.pid !== process.pid) return;
  } catch {
    // Missing or unreadable: nothing of ours to keep.
  }
  rmSync(FILE, { force: true });
};

/** The running local stack, if `npm start` is up. */
export const readLocalEndpoints = (): LocalEndpoints | undefined => {
  if (!existsSync(FILE)) return undefined;
  try {
    const endpoints = JSON.parse(readFileSync(FILE, 'utf8')) as LocalEndpoints;
    return typeof endpoints.pid === 'number' && isRunning(endpoints.pid) ? endpoints : undefined;
  } catch {
    return undefined;
  }
};
