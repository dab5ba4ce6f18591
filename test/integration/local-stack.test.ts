import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LocalEndpoints } from '../../scripts/local-endpoints.js';
import {
  accepts,
  externalAddresses,
  hasProcNet,
  isLoopback,
  listeningSockets,
  processTree,
  socketInodesOf,
} from '../helpers/listening.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;
const execute = promisify(execFile);

/** The environment of a fresh shell: nothing the test harness set for its own service. */
const shellEnvironment = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const name of Object.keys(env))
    if (
      /^(EVENTS_TABLE|CONTROL_TABLE|EXPORTS_BUCKET|ARCHIVE_BUCKET|DYNAMODB_ENDPOINT|S3_ENDPOINT|CURSOR_KEY|JOB_LAUNCHER|AUTH_CACHE_SECONDS|PORT|DEMO_\w+|TEST_\w+)$/.test(
        name,
      )
    )
      delete env[name];
  return env;
};

/** Runs one of the repository's commands (`scripts/tokens.ts`, …) the way `npm run` does, in `cwd`. */
const command = (cwd: string, script: string, ...args: string[]) =>
  execute(process.execPath, ['--no-warnings', '--import', TSX, join(ROOT, script), ...args], {
    cwd,
    env: shellEnvironment(),
  });

const failureOf = async (run: Promise<unknown>) =>
  (await run.then(
    () => ({ code: 0, stderr: '' }),
    (error: unknown) => error,
  )) as { code?: number; stderr?: string };

/**
 * `npm start -- --in-memory`, started for real in a folder of its own (its `.local/` is there), as
 * a newcomer runs it; then the commands the README shows against it.
 */
describe('Local stack: npm start -- --in-memory', () => {
  let folder: string;
  let stack: ChildProcess;
  let banner = '';
  let url = '';

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ats-stack-'));
    stack = spawn(
      process.execPath,
      ['--no-warnings', '--import', TSX, join(ROOT, 'local/start.ts'), '--in-memory'],
      {
        cwd: folder,
        env: { ...shellEnvironment(), PORT: '0', DEMO_EVENTS: '20', RETENTION_INTERVAL_MINUTES: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let errors = '';
    stack.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    url = await new Promise<string>((done, fail) => {
      stack.stdout?.on('data', (chunk: Buffer) => {
        banner += chunk.toString();
        const listening = /Listening on (http:\/\/\S+)/.exec(banner);
        if (listening?.[1]) done(listening[1]);
      });
      stack.once('exit', (code) => fail(new Error(`npm start exited with ${code}: ${errors}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (stack.exitCode === null) {
      const exited = new Promise((done) => stack.once('exit', done));
      stack.kill('SIGTERM');
      await exited;
    }
    rmSync(folder, { recursive: true, force: true });
  }, 60_000);

  const endpoints = (): LocalEndpoints =>
    JSON.parse(readFileSync(join(folder, '.local/endpoints.json'), 'utf8')) as LocalEndpoints;

  it('listens on 127.0.0.1 only: the gateway, s3rver and DynamoDB Local', async () => {
    // Prepare
    const { env } = endpoints();
    const ports = [url, env.DYNAMODB_ENDPOINT, env.S3_ENDPOINT].map((address) =>
      Number(new URL(String(address)).port),
    );
    const addresses = externalAddresses();

    // Act
    const sockets = hasProcNet()
      ? listeningSockets().filter(({ inode }) => socketInodesOf(processTree(stack.pid as number)).has(inode))
      : [];
    const reachable = await Promise.all(
      addresses.flatMap((address) =>
        ports.map(async (port) => `${address}:${port} ${await accepts(address, port)}`),
      ),
    );

    // Assess: every listening socket of the stack (Java included) is on loopback, and none of its
    // ports answers on the machine's other addresses.
    expect(hasProcNet() || addresses.length > 0).toBe(true);
    if (hasProcNet()) {
      expect(sockets.filter(({ address }) => !isLoopback(address))).toEqual([]);
      expect(sockets.map(({ port }) => port)).toEqual(expect.arrayContaining(ports));
    }
    expect(reachable.filter((line) => line.endsWith('true'))).toEqual([]);
  });

  it('keeps nothing on disk in memory, and its banner names no file it did not write', () => {
    // Assess
    for (const file of ['demo-token', 'demo-kore-secret', 'demo-kore-app-id', 'cursor.key', 'data'])
      expect(existsSync(join(folder, '.local', file))).toBe(false);
    expect(banner).not.toContain('.local/demo-kore-secret');
    expect(banner).toContain('kept nowhere');
    // What operator commands read: endpoints, never the cursor key.
    expect(Object.keys(endpoints().env)).not.toContain('CURSOR_KEY');
    expect(endpoints().inMemory).toBe(true);
  });

  it('npm run tokens creates a working token and a kore app in the in-memory stack', async () => {
    // Act
    const created = await command(
      folder,
      'scripts/tokens.ts',
      'create',
      '--tenant',
      'acme',
      '--scopes',
      'read',
    );
    const token = created.stdout.trim().split('\n').pop() as string;
    const fetched = await fetch(`${url}/api/v1/audit_trail/fetch?limit=1&auth_token=${token}`);
    const app = await command(folder, 'scripts/tokens.ts', 'kore-app', 'create', '--tenant', 'acme');

    // Assess
    expect(created.stdout).toContain('in memory');
    expect(fetched.status).toBe(200);
    expect(app.stdout).toMatch(/appId: cs-/);
  }, 60_000);

  it('npm run seed writes into the running stack, reporting progress, and ends once its consumer counted every entry', async () => {
    // Act
    const seeded = await command(
      folder,
      'scripts/seed.ts',
      '--tenant',
      'seeded',
      '--events',
      '400',
      '--days',
      '1',
    );
    const created = await command(
      folder,
      'scripts/tokens.ts',
      'create',
      '--tenant',
      'seeded',
      '--scopes',
      'read',
    );
    const token = created.stdout.trim().split('\n').pop() as string;
    const page = (await (
      await fetch(`${url}/api/v1/audit_trail/fetch?limit=1&auth_token=${token}`)
    ).json()) as {
      page_count: number;
    };

    // Assess: the service sees the seeded entries, so the seed wrote to the stack's own DynamoDB Local;
    // the stack's stream consumer counted them (once) before the seed ended.
    expect(seeded.stderr).toContain('writing to the running local stack');
    expect(seeded.stdout).toContain('Seeded 400 events for tenant seeded');
    expect(seeded.stdout).toContain('all counted');
    expect(page.page_count).toBe(400);
    const lines = [
      ...seeded.stderr.matchAll(/seed: (\d+)\/400 events stored, (\d+) counted \(([\d.]+) %\)/g),
    ];
    const stored = lines.map((match) => Number(match[1]));
    const counted = lines.map((match) => Number(match[2]));
    const percent = lines.map((match) => Number(match[3]));
    expect(stored.some((count) => count > 0 && count < 400)).toBe(true);
    // Never more counted than stored: the count is the consumer's, read from the counters.
    lines.forEach((_, index) => {
      expect(counted[index]).toBeLessThanOrEqual(stored[index] as number);
    });
    for (const series of [stored, counted, percent])
      expect(series).toEqual([...series].sort((a, b) => a - b));
    expect(lines.at(-1)?.slice(1)).toEqual(['400', '400', '100.0']);
  }, 120_000);

  it('a second npm start in the same folder refuses, naming the running one', async () => {
    // Act
    const failure = await failureOf(command(folder, 'local/start.ts'));

    // Assess
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(`already running (pid ${stack.pid}`);
  });

  it('npm run seed refuses a data folder that another live process holds, before starting anything', async () => {
    // Prepare: a folder whose .local/data is held by a live process (the stack), with no stack recorded.
    const other = mkdtempSync(join(tmpdir(), 'ats-held-'));
    mkdirSync(join(other, '.local/data'), { recursive: true });
    writeFileSync(
      join(other, '.local/data/owner.json'),
      JSON.stringify({ pid: stack.pid, command: 'npm start' }),
    );

    // Act
    const failure = await failureOf(
      command(other, 'scripts/seed.ts', '--tenant', 'acme', '--events', '10', '--days', '1'),
    );
    const dynamoDbFiles = existsSync(join(other, '.local/data/dynamodb'));
    rmSync(other, { recursive: true, force: true });

    // Assess
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain(`.local/data is in use by npm start (pid ${stack.pid})`);
    expect(dynamoDbFiles).toBe(false);
  });
});

describe('Test harness emulators', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => service.stop());

  it('listen on 127.0.0.1 only: DynamoDB Local, s3rver and the test gateway', async () => {
    // Prepare
    const ports = [service.url, service.env.DYNAMODB_ENDPOINT, service.env.S3_ENDPOINT].map((address) =>
      Number(new URL(String(address)).port),
    );
    const addresses = externalAddresses();

    // Act
    const sockets = hasProcNet() ? listeningSockets().filter(({ port }) => ports.includes(port)) : [];
    const reachable = await Promise.all(
      addresses.flatMap((address) =>
        ports.map(async (port) => `${address}:${port} ${await accepts(address, port)}`),
      ),
    );

    // Assess
    expect(hasProcNet() || addresses.length > 0).toBe(true);
    if (hasProcNet()) {
      expect(new Set(sockets.map(({ port }) => port))).toEqual(new Set(ports));
      expect(sockets.filter(({ address }) => !isLoopback(address))).toEqual([]);
    }
    expect(reachable.filter((line) => line.endsWith('true'))).toEqual([]);
  });
});
