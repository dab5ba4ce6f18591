import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type AuditTrailClient, createAuditTrailClient } from '../client.js';
import { AuditTrailError } from '../errors.js';
import { resolveTarget, type Target } from './config.js';
import { colorsFor } from './terminal.js';

/** The package's version (src/cli and dist/cli both sit two folders below package.json). */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** A usage problem the user can fix: printed without a stack, exit code 2. */
export class UsageError extends AuditTrailError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Aborted by Ctrl-C: every command passes this signal on. */
export const interrupt = new AbortController();

/** The endpoint and token for this command (see resolveTarget), or a UsageError saying how to set them. */
export const targetOf = (command: Command): Target => {
  const flags = command.optsWithGlobals<{ endpoint?: string; token?: string }>();
  const target = resolveTarget(flags);
  if (!target) {
    throw new UsageError(
      'No endpoint: run `audit-trail login --endpoint URL --token TOKEN`, pass --endpoint/--token, set ' +
        'AUDIT_TRAIL_ENDPOINT/AUDIT_TRAIL_TOKEN, or run `npm start` in the service repository.',
    );
  }
  return target;
};

/** A client for this command's target; retries announce their wait on stderr. */
export const clientOf = (command: Command): { client: AuditTrailClient; target: Target } => {
  const target = targetOf(command);
  if (target.token === undefined) {
    throw new UsageError(
      `No token for ${target.endpoint}: pass --token, set AUDIT_TRAIL_TOKEN or run \`audit-trail login\`.`,
    );
  }
  const c = colorsFor(process.stderr);
  const client = createAuditTrailClient({
    endpoint: target.endpoint,
    token: target.token,
    userAgent: `audit-trail-cli/${VERSION}`,
    retry: {
      onRetry: ({ status, delayMs }) =>
        process.stderr.write(
          c.dim(
            `${status === undefined ? 'connection failed' : `HTTP ${status}`}; retrying in ${(delayMs / 1000).toFixed(1)} s\n`,
          ),
        ),
    },
  });
  return { client, target };
};

/** Parses a positive integer option. */
export const positiveInteger =
  (name: string, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new UsageError(`${name} must be an integer from 1 to ${max}`);
    }
    return Number(value);
  };

/** Parses a positive number of seconds. */
export const seconds =
  (name: string) =>
  (value: string): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0)
      throw new UsageError(`${name} must be a positive number of seconds`);
    return parsed;
  };
