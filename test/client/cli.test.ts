import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuditTrailClient } from '../../packages/client/src/index.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { inspectZip } from '../helpers/zip.js';

const BIN = fileURLToPath(new URL('../../packages/client/bin/audit-trail.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The `audit-trail` command, spawned as a user runs it (stdin, stdout and stderr are pipes, not a terminal). */
const audit = (
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    onStdout?: (text: string, child: ChildProcess) => void;
  } = {},
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

/** A loopback port nothing listens on. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

describe('Command: audit-trail', () => {
  let service: TestService;
  let token: string;
  let home: string;
  let env: Record<string, string>;
  const ingest = (action: string, count: number) =>
    createAuditTrailClient({ endpoint: service.url, token }).ingest(
      Array.from({ length: count }, (_, index) => ({
        action_type: action,
        message: `${action} "${index}", ok`,
      })),
    );

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('cli-acme', ['admin']);
    home = mkdtempSync(join(tmpdir(), 'audit-trail-cli-'));
    env = {
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      AUDIT_TRAIL_ENDPOINT: service.url,
      AUDIT_TRAIL_TOKEN: token,
    };
    await ingest('cli_listed', 4);
  });
  afterAll(async () => {
    await service.stop();
    rmSync(home, { recursive: true, force: true });
  });

  describe('events', () => {
    it('prints JSON Lines when piped, and JSON, CSV or a table when asked', async () => {
      // Act
      const filter = ['events', '--action', 'cli_listed', '--limit', '3'];
      const [piped, json, csv, table] = await Promise.all([
        audit(filter, { env }),
        audit([...filter, '--json', '--tz', 'Asia/Tokyo'], { env }),
        audit([...filter, '--csv'], { env }),
        audit([...filter, '--table'], { env }),
      ]);

      // Assess
      for (const run of [piped, json, csv, table]) expect(run).toMatchObject({ code: 0, stderr: '' });
      const jsonl = lines(piped.stdout).map((line) => JSON.parse(line) as { id: number; message: string });
      expect(jsonl.map((entry) => entry.message)).toEqual([
        'cli_listed "3", ok',
        'cli_listed "2", ok',
        'cli_listed "1", ok',
      ]);
      const array = JSON.parse(json.stdout) as { id: number; timestamp_std: string }[];
      expect(array.map((entry) => entry.id)).toEqual(jsonl.map((entry) => entry.id));
      expect(array[0]?.timestamp_std).toMatch(/\+0900$/);
      const rows = lines(csv.stdout);
      expect(rows[0]).toBe(
        'id,timestamp,timestamp_std,action_type,user,user_ip,user_browser_agent,user_browser_language,flock_id,message,additional_information',
      );
      expect(rows).toHaveLength(4);
      expect(rows[1]).toContain(`${jsonl[0]?.id},`);
      expect(rows[1]).toContain('"cli_listed ""3"", ok"');
      expect(table.stdout).toMatch(/│ id\s+│ time\s+│ action\s+│ user\s+│ message/);
      expect(table.stdout).toContain('cli_listed "3", ok');
      // Not a terminal: no colour codes.
      expect(table.stdout).not.toContain('\x1b[');
    });
  });

  describe('tail -f', () => {
    it('shows the last entry, then new ones as they come, and stops at its bound', async () => {
      // Prepare
      await ingest('cli_tailed', 1);
      let ingested = false;

      // Act: once the first entry is shown, two more are recorded; --count 2 ends the command.
      const run = await audit(
        [
          'tail',
          '-f',
          '-n',
          '1',
          '--action',
          'cli_tailed',
          '--interval',
          '0.1',
          '--count',
          '2',
          '--for',
          '60',
        ],
        {
          env,
          onStdout: (text) => {
            if (!ingested && text.includes('\n')) {
              ingested = true;
              void ingest('cli_tailed', 2);
            }
          },
        },
      );

      // Assess
      expect(run.code).toBe(0);
      expect(lines(run.stdout).map((line) => (JSON.parse(line) as { message: string }).message)).toEqual([
        'cli_tailed "0", ok',
        'cli_tailed "0", ok',
        'cli_tailed "1", ok',
      ]);
    });

    it('stops cleanly on Ctrl-C: no stack, exit code 130', async () => {
      // Prepare
      await ingest('cli_interrupted', 1);
      let interrupted = false;

      // Act
      const run = await audit(['tail', '-f', '-n', '1', '--action', 'cli_interrupted', '--interval', '0.1'], {
        env,
        onStdout: (text, child) => {
          if (!interrupted && text.includes('\n')) {
            interrupted = true;
            child.kill('SIGINT');
          }
        },
      });

      // Assess
      expect(run).toMatchObject({ code: 130, stderr: '' });
      expect(lines(run.stdout)).toHaveLength(1);
    });
  });

  describe('export', () => {
    it('writes a valid zip of every entry to the file asked for', async () => {
      // Prepare
      const file = join(home, 'trail.zip');

      // Act
      const run = await audit(['export', '-o', file], { env });
      const again = await audit(['export', '-o', file], { env });

      // Assess
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^Saved .*trail\.zip: [\d.]+ k?B in \d+s\.\n$/);
      const zip = inspectZip(readFileSync(file), 'canary_audit_trail.json');
      expect(zip.testOk).toBe(true);
      const document = JSON.parse(zip.text) as { audit_trail: { action_type: string }[] };
      expect(document.audit_trail.filter((entry) => entry.action_type === 'cli_listed')).toHaveLength(4);
      expect(existsSync(`${file}.part`)).toBe(false);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('exists: pass --force');
    });
  });

  describe('login', () => {
    it('saves the endpoint and token readable by the owner only, and later commands use them', async () => {
      // Prepare: no endpoint nor token in the environment.
      const bare = { HOME: home, XDG_CONFIG_HOME: join(home, 'login-config') };

      // Act
      const rejected = await audit(
        ['login', '--endpoint', service.url, '--token', 'ats_wrong-token-000000000'],
        {
          env: bare,
        },
      );
      const savedAfterRejection = existsSync(join(bare.XDG_CONFIG_HOME, 'audit-trail', 'config.json'));
      const login = await audit(['login', '--endpoint', service.url, '--token', token], { env: bare });
      const events = await audit(['events', '--action', 'cli_listed', '--limit', '1'], { env: bare });

      // Assess
      expect(rejected.code).toBe(1);
      expect(rejected.stderr).toMatch(/^audit-trail: 401 Unauthorized: .+\n$/);
      expect(savedAfterRejection).toBe(false);
      expect(login.code).toBe(0);
      const file = join(bare.XDG_CONFIG_HOME, 'audit-trail', 'config.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(join(bare.XDG_CONFIG_HOME, 'audit-trail')).mode & 0o777).toBe(0o700);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ endpoint: service.url, token });
      expect(login.stdout).not.toContain(token);
      expect(events.code).toBe(0);
      expect(lines(events.stdout)).toHaveLength(1);
    });

    it('needs no login inside the repository while `npm start` runs (.local/endpoints.json and demo-token)', async () => {
      // Prepare: a checkout whose local stack is this test's service.
      const checkout = join(home, 'checkout');
      mkdirSync(join(checkout, '.local'), { recursive: true });
      mkdirSync(join(checkout, 'sub', 'dir'), { recursive: true });
      writeFileSync(
        join(checkout, '.local', 'endpoints.json'),
        JSON.stringify({ pid: process.pid, url: service.url, env: {} }),
      );
      writeFileSync(join(checkout, '.local', 'demo-token'), `${token}\n`);

      // Act
      const run = await audit(['events', '--action', 'cli_listed', '--limit', '2'], {
        env: { HOME: home, XDG_CONFIG_HOME: join(home, 'empty-config') },
        cwd: join(checkout, 'sub', 'dir'),
      });

      // Assess
      expect(run.code).toBe(0);
      expect(lines(run.stdout)).toHaveLength(2);
    });
  });

  describe('errors', () => {
    it('prints one clean line and exits non-zero: API errors, an unreachable endpoint, bad usage', async () => {
      // Act
      const closed = await closedPort();
      const [badToken, badZone, unreachable, badLimit, noTarget] = await Promise.all([
        audit(['events'], { env: { ...env, AUDIT_TRAIL_TOKEN: 'ats_wrong-token-000000000' } }),
        audit(['events', '--tz', 'Mars/Olympus'], { env }),
        audit(['events'], { env: { ...env, AUDIT_TRAIL_ENDPOINT: `http://127.0.0.1:${closed}` } }),
        audit(['events', '--limit', 'ten'], { env }),
        audit(['events'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, 'none') } }),
      ]);

      // Assess
      expect(badToken).toMatchObject({ code: 1, stdout: '' });
      expect(badToken.stderr).toMatch(/^audit-trail: 401 Unauthorized: .+\n$/);
      expect(badZone.code).toBe(1);
      expect(badZone.stderr).toMatch(/^audit-trail: 400 Bad request: .*tz.*\n$/);
      expect(unreachable.code).toBe(1);
      // Connection failures are retried a bounded number of times, each wait announced, then one line.
      expect(lines(unreachable.stderr).at(-1)).toBe(
        `audit-trail: Cannot reach http://127.0.0.1:${closed} (ECONNREFUSED). Is the service running (npm start), and the endpoint right?`,
      );
      expect(badLimit.code).toBe(2);
      expect(badLimit.stderr).toContain('--limit must be an integer');
      expect(noTarget.code).toBe(2);
      expect(noTarget.stderr).toContain('No endpoint');
      for (const run of [badToken, badZone, unreachable, badLimit, noTarget]) {
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(run.stderr).not.toContain(token);
      }
    });
  });

  describe('tokens', () => {
    it('runs the same program as `npm run tokens`', async () => {
      // Act: the control table of the test service, as for real AWS (CONTROL_TABLE set).
      const run = await audit(['tokens', 'list', '--tenant', 'cli-acme'], {
        env: { ...env, ...service.env },
      });

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^tok_[0-9a-f]+\tadmin\t/m);
      expect(run.stdout).not.toContain(token);
    });
  });
  // Last: a purge deletes every older entry of the tenant, the other tests' included.
  describe('purge', () => {
    it('refuses without a terminal unless --yes, then purges with it and reports what it deleted', async () => {
      // Prepare
      await ingest('cli_purged', 3);
      const client = createAuditTrailClient({ endpoint: service.url, token });
      const newest = (await client.canary.page({ action: 'cli_purged', limit: 1 })).audit_trail[0]?.id ?? 0;

      // Act
      const refused = await audit(['purge', String(newest)], { env });
      const kept = (await client.canary.page({ action: 'cli_purged' })).audit_trail.length;
      const purged = await audit(['purge', String(newest), '--yes'], { env });
      const left = (await client.canary.page({ action: 'cli_purged' })).audit_trail.length;

      // Assess
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('Refusing to purge without confirmation');
      expect(kept).toBe(3);
      expect(purged.code).toBe(0);
      expect(purged.stdout).toMatch(/^Purged: \d+ entries deleted/);
      expect(left).toBe(0);
    });
  });
});
