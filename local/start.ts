/**
 * `npm start`: the whole service on real emulators, with a demo tenant.
 *
 *   PORT          where the API listens (default 3000)
 *   DEMO_TOKEN    the demo tenant's token, with every scope (20–128 URL-safe characters);
 *                 default: a random one, kept in .local/ so it survives restarts
 *   DEMO_EVENTS   how many demo events to seed into an empty demo tenant (default 500)
 *   DEMO_KORE_APP_ID, DEMO_KORE_SECRET
 *                 the demo tenant's kore app (JWTs for /api/public/auditlogs); default: random, kept in .local/
 *   RETENTION_INTERVAL_MINUTES  how often retention runs (lambdas/handlers/purge-scheduler.ts), default 60;
 *                 0 turns it off
 *   --in-memory   keep nothing: data lives only as long as the process
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Context } from 'aws-lambda';
import { SignJWT } from 'jose';
import * as z from 'zod';
import { generateKoreApp, KORE_APP_ID_PATTERN, KORE_SECRET_PATTERN } from '../lambdas/domain/kore-apps.js';
import { SCOPES } from '../lambdas/domain/scopes.js';
import { parseSignerKey } from '../lambdas/domain/tlog/note.js';
import { generateToken } from '../lambdas/domain/tokens.js';
import { ensureKoreApp } from '../lambdas/use-cases/manage-kore-apps.js';
import { ensureToken } from '../lambdas/use-cases/manage-tokens.js';
import { clearLocalEndpoints, readLocalEndpoints, writeLocalEndpoints } from '../scripts/local-endpoints.js';
import { DataDirectoryBusyError } from './data-lock.js';
import { demoEvents } from './demo-data.js';
import { JavaMissingError, startEmulators } from './emulators.js';
import { newCursorKey, newTlogSigningKey, startLocalService } from './stack.js';

const DATA_DIR = '.local/data';
const DEMO_TENANT = 'demo';

/** A reason not to start that one line explains (another stack running, the port taken). */
class CannotStartError extends Error {
  override readonly name = 'CannotStartError';
}

const settings = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    DEMO_TOKEN: z
      .string()
      .regex(
        /^[A-Za-z0-9._~-]{20,128}$/,
        'DEMO_TOKEN must be 20-128 URL-safe characters (letters, digits, . _ ~ -)',
      )
      .optional(),
    DEMO_EVENTS: z.coerce.number().int().min(0).max(1_000_000).default(500),
    DEMO_KORE_APP_ID: z
      .string()
      .regex(KORE_APP_ID_PATTERN, 'DEMO_KORE_APP_ID must be "cs-" and 8-64 letters, digits or "-"')
      .optional(),
    DEMO_KORE_SECRET: z
      .string()
      .regex(KORE_SECRET_PATTERN, 'DEMO_KORE_SECRET must be 32-128 URL-safe characters')
      .optional(),
    RETENTION_INTERVAL_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  })
  .safeParse(process.env);

if (!settings.success) {
  for (const issue of settings.error.issues) console.error(`${issue.path.join('.')}: ${issue.message}`);
  process.exit(1);
}
const { PORT, DEMO_TOKEN, DEMO_EVENTS, DEMO_KORE_APP_ID, DEMO_KORE_SECRET, RETENTION_INTERVAL_MINUTES } =
  settings.data;
const { values: flags } = parseArgs({ options: { 'in-memory': { type: 'boolean', default: false } } });
const inMemory = flags['in-memory'] ?? false;

/** A value kept in .local/ across restarts (unless in memory), created on first use. */
const persisted = (file: string, create: () => string): string => {
  if (inMemory) return create();
  mkdirSync('.local', { recursive: true });
  const path = `.local/${file}`;
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
};

const main = async () => {
  const running = readLocalEndpoints();
  if (running) {
    throw new CannotStartError(
      `The local stack is already running (pid ${running.pid}, ${running.url}): stop it first (Ctrl-C or kill ${running.pid}).`,
    );
  }
  process.stdout.write(
    `Starting DynamoDB Local and s3rver (${inMemory ? 'in memory' : `data in ${DATA_DIR}`})…\n`,
  );
  const emulators = await startEmulators(
    inMemory
      ? { scratchDir: `.local/scratch-${process.pid}`, owner: 'npm start' }
      : { dataDir: DATA_DIR, owner: 'npm start' },
  );
  let stopping = false;
  const stopAll = async (service?: { stop(): Promise<void> }) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping…\n');
    clearLocalEndpoints();
    await service?.stop();
    await emulators.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stopAll(service));
  process.once('SIGTERM', () => void stopAll(service));
  let service: Awaited<ReturnType<typeof startLocalService>> | undefined;
  try {
    service = await startLocalService(emulators, {
      names: {
        eventsTable: 'audit-events',
        controlTable: 'audit-control',
        exportsBucket: 'audit-exports',
        archiveBucket: 'audit-archive',
      },
      cursorKey: persisted('cursor.key', newCursorKey),
      // Signs the tenants' log checkpoints; its public half is printed below and served by the API.
      tlogSigningKey: persisted('tlog-signing.key', () => newTlogSigningKey()),
      port: PORT,
      // Kept with the data: records of calls answered before a crash are stored at the next start.
      selfAuditJournal: inMemory
        ? `.local/scratch-${process.pid}/self-audit.jsonl`
        : `${DATA_DIR}/self-audit.jsonl`,
      // The stream consumer on an event loop of its own, as on AWS it is a function of its own:
      // beside a busy API it keeps up (bench/LOAD.md).
      derivationThread: 'worker',
    });
  } catch (error) {
    await emulators.stop();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new CannotStartError(
        `Port ${PORT} on 127.0.0.1 is in use by another program: choose another, e.g. PORT=${PORT === 3000 ? 3001 : PORT + 1} npm start`,
      );
    throw error;
  }
  // In memory too: `npm run tokens` and `npm run seed` find the running stack here (no secrets).
  writeLocalEndpoints({ pid: process.pid, url: service.url, inMemory, env: service.env });
  const token = DEMO_TOKEN ?? persisted('demo-token', () => generateToken().token);
  await ensureToken(
    service.services.tokens,
    {
      tenant: DEMO_TENANT,
      scopes: SCOPES,
      name: 'demo token',
      token,
    },
    service.services.tenants,
  );
  if (RETENTION_INTERVAL_MINUTES > 0) startRetention(RETENTION_INTERVAL_MINUTES);
  const koreApp = await ensureKoreApp(
    service.services.koreApps,
    {
      tenant: DEMO_TENANT,
      scopes: ['read'],
      name: 'demo kore app',
      appId: DEMO_KORE_APP_ID ?? persisted('demo-kore-app-id', () => generateKoreApp().appId),
      clientSecret: DEMO_KORE_SECRET ?? persisted('demo-kore-secret', () => generateKoreApp().clientSecret),
    },
    service.services.tenants,
  );
  // Where the kore app's secret is, as this run has it: never printed, only pointed to.
  const koreSecretAt =
    DEMO_KORE_SECRET !== undefined
      ? 'its secret is DEMO_KORE_SECRET'
      : inMemory
        ? 'its secret is random and kept nowhere in memory mode; `npm run tokens -- kore-app create --tenant demo` makes an app whose secret you keep'
        : 'its secret is in .local/demo-kore-secret';
  const koreJwt = await new SignJWT({ appId: koreApp.appId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(new TextEncoder().encode(koreApp.clientSecret));
  const existing = await service.services.counters.total(DEMO_TENANT, { kind: 'all' });
  if (existing === 0 && DEMO_EVENTS > 0) {
    const drafts = demoEvents({ count: DEMO_EVENTS, days: 7, now: Date.now() });
    for (let start = 0; start < drafts.length; start += 100) {
      await service.services.events.append(DEMO_TENANT, drafts.slice(start, start + 100));
    }
    process.stdout.write(`Seeded ${DEMO_EVENTS} demo events for tenant "${DEMO_TENANT}".\n`);
  }
  process.stdout.write(
    [
      `Demo tenant "${DEMO_TENANT}" token (all scopes): ${token}`,
      `Try: curl -G ${service.url}/api/v1/audit_trail/fetch -d auth_token=${token} -d limit=5 -d action_filter=user_login`,
      `Demo kore app ${koreApp.appId} (${koreSecretAt}); a JWT valid 24 h:`,
      `  curl '${service.url}/api/public/auditlogs?size=5' --header 'auth: ${koreJwt}'`,
      `  curl --globoff '${service.url}/api/v1/audit-trail?page[size]=5' --header 'x-api-key: ${token}'`,
      `Checkpoint verifier key (npm run verify -- <zip> --key <this>): ${parseSignerKey(service.env.TLOG_SIGNING_KEY ?? '').verifier.encoded}`,
      `OpenAPI: ${service.url}/openapi.json`,
      `Console: ${service.url}/console (sign in with the demo token)`,
      `Listening on ${service.url}`,
      '',
    ].join('\n'),
  );
};

/** Runs the retention scheduler's handler on an interval, as EventBridge Scheduler does in AWS. */
const startRetention = (minutes: number) => {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      const { handler } = await import('../lambdas/handlers/purge-scheduler.js');
      const deadline = Date.now() + 15 * 60_000;
      await handler({}, {
        functionName: 'purge-scheduler',
        awsRequestId: randomUUID(),
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      } as Context);
    } catch (error) {
      console.error(`retention: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      running = false;
    }
  };
  setInterval(() => void run(), minutes * 60_000).unref();
};

main().catch((error: unknown) => {
  if (
    error instanceof JavaMissingError ||
    error instanceof DataDirectoryBusyError ||
    error instanceof CannotStartError
  ) {
    console.error(error.message);
  } else {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
