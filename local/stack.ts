import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InProcessJobLauncher } from '../lambdas/adapters/in-process-job-launcher.js';
import { log } from '../lambdas/adapters/log.js';
import { loadConfig, type ServiceConfig } from '../lambdas/composition/config.js';
import { cursorKey } from '../lambdas/composition/cursor-key.js';
import {
  coreServices,
  type FeatureStores,
  featureStores,
  type Services,
} from '../lambdas/composition/dynamodb.js';
import { environmentConfig } from '../lambdas/composition/environment.js';
import { installExportLauncher } from '../lambdas/composition/export-launcher.js';
import { installJobLauncher } from '../lambdas/composition/job-launcher.js';
import { type ObjectServices, objectServices } from '../lambdas/composition/objects.js';
import { storeSelfAuditDependencies } from '../lambdas/composition/self-audit.js';
import { installConsoleAssets } from '../lambdas/console-assets.js';
import { CHUNK_RETRY } from '../lambdas/domain/export-plan.js';
import { encodeSignerKey } from '../lambdas/domain/tlog/note.js';
import { storeSelfAuditLines } from '../lambdas/use-cases/store-self-audit.js';
import { buildConsoleAssets } from '../lib/console-bundle.js';
import { startDerivation, startDerivationWorker } from './derivation.js';
import { createResources, type EmulatorEndpoints, type ResourceNames } from './emulators.js';
import { startGateway } from './gateway.js';
import { type JournalConsumer, startJournalConsumer } from './self-audit-journal.js';
import type { LocalStreamConsumer } from './stream-consumer.js';

/** The environment the handlers read, for a deployment on the emulators. */
export const serviceEnvironment = (
  emulators: EmulatorEndpoints,
  names: ResourceNames,
  cursorKey: string,
  tlogSigningKey: string = newTlogSigningKey(),
): Record<string, string> => ({
  EVENTS_TABLE: names.eventsTable,
  CONTROL_TABLE: names.controlTable,
  EXPORTS_BUCKET: names.exportsBucket,
  ARCHIVE_BUCKET: names.archiveBucket,
  AWS_REGION: 'us-east-1',
  DYNAMODB_ENDPOINT: emulators.dynamoDbEndpoint,
  ...(emulators.dynamoDbDatabase ? { DYNAMODB_LOCAL_DATABASE: emulators.dynamoDbDatabase } : {}),
  S3_ENDPOINT: emulators.s3Endpoint,
  CURSOR_KEY: cursorKey,
  // The verifiable log's checkpoint key (in AWS a KMS key): `npm start` keeps it in .local/data.
  TLOG_ORIGIN: LOCAL_TLOG_ORIGIN,
  TLOG_SIGNING_KEY: tlogSigningKey,
  // Local tokens may be revoked and reused at once; no authorizer cache.
  AUTH_CACHE_SECONDS: '0',
  // Jobs (long purges, big exports) run in this process instead of an async Lambda invocation.
  JOB_LAUNCHER: 'in-process',
  // The handlers run in this process and look for AWS credentials only on real AWS.
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  // The console may follow a download's 303 to the emulator's presigned URL (its CSP connect-src).
  CONSOLE_DOWNLOAD_ORIGINS: new URL(emulators.s3Endpoint).origin,
});

/** The local stack's log origin (and signing key name). */
export const LOCAL_TLOG_ORIGIN = 'audit-trail.local';

/** A fresh Ed25519 checkpoint signing key, as a C2SP signer key named `origin`. */
export const newTlogSigningKey = (origin: string = LOCAL_TLOG_ORIGIN): string =>
  encodeSignerKey(origin, randomBytes(32));

/** A fresh random cursor-signing key (base64, 32 bytes). */
export const newCursorKey = (): string => randomBytes(32).toString('base64');

/** The service running on emulators: its URL, its services (for seeding and checks) and `stop()`. */
export interface LocalService {
  readonly url: string;
  /** The handlers' DynamoDB stores, the feature stores included. */
  readonly services: Services & FeatureStores;
  /** The S3 stores the handlers use. */
  readonly objects: ObjectServices;
  /** The handlers' job launcher (in-process: `idle()` waits for background jobs). */
  readonly jobs: InProcessJobLauncher;
  readonly cursorKey: Uint8Array;
  readonly env: Record<string, string>;
  /** The events table's stream consumer, deriving rollup counters as Lambda would on AWS. */
  readonly derivation: LocalStreamConsumer;
  /**
   * The self-audit journal's consumer, storing each call's record as the log subscription's
   * function does on AWS (absent when started with `consumeSelfAudit: false`).
   */
  readonly selfAudit: JournalConsumer | undefined;
  /** Resolves once the self-audit records of every call answered so far are stored. */
  drainSelfAudit(): Promise<void>;
  /**
   * The self-audit consumer's own stores and clients, apart from the handlers' (on AWS it is a
   * function of its own): a fault injected on `services.doc` does not reach it, and one injected
   * on `selfAuditServices.doc` reaches only it.
   */
  readonly selfAuditServices: Services;
  /**
   * Resolves once everything written so far has been derived (counters caught up), the self-audit
   * records of the calls answered so far included.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Creates the resources on running emulators, points this process's handlers at them (the
 * handlers read `process.env` once, as in Lambda) and serves them on `port` (0: any free port).
 */
export const startLocalService = async (
  emulators: EmulatorEndpoints,
  options: {
    names: ResourceNames;
    cursorKey: string;
    /** The checkpoint signing key (C2SP signer key); a fresh one when absent. */
    tlogSigningKey?: string;
    port: number;
    /** Origins allowed to call the API from a browser (CORS); default: the `CORS_ALLOW_ORIGINS` variable, else none (CORS off). */
    corsAllowOrigins?: readonly string[];
    /** Settings (as environment variables spell them) over the environment's and the defaults. */
    settings?: Readonly<Partial<Record<keyof ServiceConfig, string>>>;
    /**
     * The self-audit journal (kept across restarts, with its consumer's checkpoint beside it).
     * Default: a file in a fresh temporary directory, removed at `stop()`.
     */
    selfAuditJournal?: string;
    /**
     * Whether this process stores the journal's records (default true). `false` only hands them
     * to the journal, as a function whose log delivery has not happened yet (fault tests).
     */
    consumeSelfAudit?: boolean;
    /**
     * Where the stream consumer runs: `'worker'` in a worker thread of this process, with an event
     * loop and clients of its own (`npm start`, `npm run load`); `'main'` (the default) on this
     * thread, with the handlers' own clients, so a fault a test injects there reaches it too.
     */
    derivationThread?: 'main' | 'worker';
  },
): Promise<LocalService> => {
  await createResources(emulators, options.names);
  const env = serviceEnvironment(emulators, options.names, options.cursorKey, options.tlogSigningKey);
  const temporaryJournalDir =
    options.selfAuditJournal === undefined
      ? mkdtempSync(join(tmpdir(), 'audit-trail-self-audit-'))
      : undefined;
  const journalPath = resolve(
    options.selfAuditJournal ?? join(temporaryJournalDir as string, 'journal.jsonl'),
  );
  mkdirSync(dirname(journalPath), { recursive: true });
  env.SELF_AUDIT_JOURNAL = journalPath;
  if (options.corsAllowOrigins !== undefined) env.CORS_ALLOW_ORIGINS = options.corsAllowOrigins.join(',');
  for (const [name, value] of Object.entries(options.settings ?? {}))
    if (value !== undefined) env[name] = value;
  Object.assign(process.env, env);
  // The very services the handlers use (the composition root's for this environment), so jobs and
  // clients are shared.
  const services = coreServices(environmentConfig());
  // Workers run in this process, in the background (JOB_LAUNCHER=in-process).
  // Export jobs run the export state machine's steps in this process, with its retry policy.
  const { config } = services;
  const jobs = new InProcessJobLauncher({
    budgetMs: config.LOCAL_WORKER_BUDGET_MS,
    exports: {
      concurrency: config.EXPORT_CONCURRENCY,
      retry: {
        retries: CHUNK_RETRY.retries,
        intervalMs: config.EXPORT_RETRY_INTERVAL_MS,
        backoffRate: CHUNK_RETRY.backoffRate,
      },
    },
  });
  installJobLauncher(jobs);
  // The console's browser code, built by esbuild from console/src on its first request.
  installConsoleAssets(buildConsoleAssets);
  installExportLauncher(jobs);
  const derivation =
    options.derivationThread === 'worker'
      ? await startDerivationWorker(emulators, options.names, process.env)
      : await startDerivation(emulators, options.names, services);
  // Started before the gateway: a journal left by a stack that died is stored first in line.
  // A configuration object of its own, so its own clients, stores and id slot (a separate writer).
  const selfAuditServices = coreServices(loadConfig({ ...process.env }));
  const selfAudit =
    options.consumeSelfAudit === false
      ? undefined
      : startSelfAuditConsumer(journalPath, selfAuditServices.config);
  const { server, url } = await startGateway(options.port);
  const drainSelfAudit = async () => {
    await selfAudit?.drain();
  };
  return {
    derivation,
    selfAudit,
    selfAuditServices,
    drainSelfAudit,
    settle: async () => {
      await drainSelfAudit();
      await derivation.settle();
    },
    url,
    services: { ...services, ...featureStores(services.config) },
    objects: objectServices(services.config),
    jobs,
    cursorKey: await cursorKey(services.config),
    env,
    stop: async () => {
      await closeServer(server);
      await selfAudit?.stop();
      await derivation.stop();
      if (temporaryJournalDir) rmSync(temporaryJournalDir, { recursive: true, force: true });
    },
  };
};

/**
 * Runs the self-audit consumer in this process, as the log groups' subscription and its function
 * do on AWS: same use case, each record stored once however often its line is handed over.
 */
const startSelfAuditConsumer = (path: string, config: ServiceConfig): JournalConsumer => {
  const deps = storeSelfAuditDependencies(config);
  return startJournalConsumer({
    path,
    handle: async (lines) => {
      const outcome = await storeSelfAuditLines(deps, lines);
      if (outcome.skipped > 0) log.warn('self-audit journal had lines that are no records', { ...outcome });
    },
    onError: (error) =>
      log.error('local self-audit batch failed; retrying', {
        error: error instanceof Error ? error.name : 'unknown',
      }),
  });
};

/**
 * The local stack's stream consumer on its own, for a command that writes into the stack's tables
 * while no stack runs (`npm run seed` on .local/data): it counts what the command writes, with the
 * same checkpoints `npm start` resumes from. `stop()` it once `settle()` has resolved.
 */
export const startLocalDerivation = (
  emulators: EmulatorEndpoints,
  names: ResourceNames,
): Promise<LocalStreamConsumer> => {
  // Checkpoints signed here must be signed with the stack's own key (`npm start` keeps it in
  // .local/), or a later download would carry a checkpoint its published key does not open.
  // (Made here and kept there when this command runs first.)
  const keyFile = '.local/tlog-signing.key';
  if (!existsSync(keyFile)) {
    mkdirSync('.local', { recursive: true });
    writeFileSync(keyFile, `${newTlogSigningKey()}\n`, { mode: 0o600 });
  }
  const signingKey = readFileSync(keyFile, 'utf8').trim();
  const config = environmentConfig(serviceEnvironment(emulators, names, newCursorKey(), signingKey));
  return startDerivation(emulators, names, coreServices(config));
};

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
