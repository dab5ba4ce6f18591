import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { dynamoDbLocalCredentials } from '../../lambdas/adapters/aws-clients.js';
import { itemToRecord } from '../../lambdas/adapters/dynamodb-records.js';
import { storeSelfAuditFunctionDependencies } from '../../lambdas/composition/self-audit.js';
import type { AuditRecord } from '../../lambdas/domain/record.js';
import { SELF_AUDIT_MARKER, selfAuditLine } from '../../lambdas/domain/self-audit-line.js';
import { makeHandler } from '../../lambdas/handlers/store-self-audit.js';
import { checkpointPathOf } from '../../local/self-audit-journal.js';
import { type LocalService, newCursorKey, startLocalService } from '../../local/stack.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx')).href;

/** The entries recording API calls of `tenant`, read straight from the table (strongly consistent). */
const apiRequests = async (doc: DynamoDBDocumentClient, table: string, tenant: string) => {
  const output = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'tenant = :t',
      ExpressionAttributeValues: { ':t': tenant },
      ConsistentRead: true,
    }),
  );
  return (output.Items ?? [])
    .map((item) => itemToRecord(item) as AuditRecord)
    .filter((record) => record.action_type === 'api_request');
};

const withMarker = (records: readonly AuditRecord[], marker: string) =>
  records.filter((record) => record.request?.query_parameters.marker === marker);

describe('self-audit: a function killed right after answering', () => {
  let folder: string;
  let child: ChildProcess | undefined;
  let restarted: LocalService | undefined;
  let doc: DynamoDBDocumentClient;
  const suffix = randomBytes(4).toString('hex');
  const names = {
    eventsTable: `events-${suffix}`,
    controlTable: `control-${suffix}`,
    exportsBucket: `exports-${suffix}`,
    archiveBucket: `archive-${suffix}`,
  };
  const tenant = 'killed-after-answer';
  // The global setup's emulators; a DynamoDB Local database of this test's own.
  const emulators = {
    dynamoDbEndpoint: process.env.TEST_DYNAMODB_ENDPOINT as string,
    s3Endpoint: process.env.TEST_S3_ENDPOINT as string,
    dynamoDbDatabase: `killed${suffix}`,
  };

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ats-self-audit-'));
    doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: emulators.dynamoDbEndpoint,
        region: 'us-east-1',
        credentials: dynamoDbLocalCredentials(emulators.dynamoDbDatabase),
      }),
    );
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await restarted?.stop();
    doc.destroy();
    rmSync(folder, { recursive: true, force: true });
  });

  it('finds the record, exactly once, when the service starts again on the same journal and tables', async () => {
    // Prepare: the service in a child process that hands records to the journal but has not
    // stored them yet (as a function whose log line was not delivered yet).
    const journal = join(folder, 'self-audit.jsonl');
    const cursorKey = newCursorKey();
    const settings = { emulators, names, cursorKey, journal, tenant };
    const running = spawn(
      process.execPath,
      ['--no-warnings', '--import', TSX, join(ROOT, 'test/helpers/self-audit-child.ts')],
      {
        env: { ...process.env, SELF_AUDIT_CHILD: JSON.stringify(settings), LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = running;
    let errors = '';
    running.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const [url, token] = await new Promise<[string, string]>((done, fail) => {
      let output = '';
      running.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const ready = /READY (\S+) (\S+)/.exec(output);
        if (ready?.[1] && ready[2]) done([ready[1], ready[2]]);
      });
      running.once('exit', (code) => fail(new Error(`the service exited with ${code}: ${errors}`)));
    });
    const marker = randomBytes(6).toString('hex');
    const exited = new Promise((done) => running.once('exit', done));

    // Act: one call; the process is killed as soon as the answer is in.
    const before = Date.now();
    const response = await fetch(new URL(`/api/v1/audit_trail/fetch?limit=1&marker=${marker}`, url), {
      headers: { 'x-api-key': token },
    });
    const body = await response.text();
    running.kill('SIGKILL');
    await exited;

    // Assess: answered; nothing stored on the request path, the record in the journal.
    expect(response.status).toBe(200);
    expect(body).toContain('"result"');
    expect(withMarker(await apiRequests(doc, names.eventsTable, tenant), marker)).toEqual([]);
    const lines = readFileSync(journal, 'utf8')
      .split('\n')
      .filter((line) => line.includes(marker));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(SELF_AUDIT_MARKER);
    expect(lines[0]).not.toContain(token);

    // Act: the service starts again on the same tables and journal.
    restarted = await startLocalService(emulators, { names, cursorKey, port: 0, selfAuditJournal: journal });
    await restarted.settle();

    // Assess: stored once, with the call's time.
    const stored = withMarker(await apiRequests(doc, names.eventsTable, tenant), marker);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.request).toMatchObject({ uri: '/api/v1/audit_trail/fetch', status: 200 });
    expect(stored[0]?.timestamp).toBeGreaterThanOrEqual(before - 1000);
    expect(stored[0]?.timestamp).toBeLessThanOrEqual(Date.now());
    expect(existsSync(checkpointPathOf(journal))).toBe(true);

    // Act: the journal delivered all over again (its checkpoint lost), in a third start.
    await restarted.stop();
    restarted = undefined;
    rmSync(checkpointPathOf(journal));
    restarted = await startLocalService(emulators, { names, cursorKey, port: 0, selfAuditJournal: journal });
    await restarted.settle();

    // Assess: still once.
    expect(restarted.selfAudit?.stats.lines).toBeGreaterThanOrEqual(1);
    expect(withMarker(await apiRequests(doc, names.eventsTable, tenant), marker)).toHaveLength(1);
  }, 180_000);
});

describe('self-audit: the log subscription consumer (store-self-audit)', () => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService();
  }, 120_000);
  afterAll(async () => service.stop());

  /** A CloudWatch Logs subscription delivery of `messages` (gzipped JSON, base64). */
  const delivery = (messages: readonly string[], messageType = 'DATA_MESSAGE'): CloudWatchLogsEvent => ({
    awslogs: {
      data: gzipSync(
        JSON.stringify({
          messageType,
          owner: '000000000000',
          logGroup: '/aws/lambda/canary-fetch',
          logStream: 'stream',
          subscriptionFilters: ['self-audit'],
          logEvents: messages.map((message, index) => ({
            id: String(index),
            timestamp: Date.now(),
            message,
          })),
        }),
      ).toString('base64'),
    },
  });

  const record = (key: string, marker: string, timestamp: number) =>
    selfAuditLine({
      key,
      tenant: 'subscribed',
      draft: {
        timestamp,
        action_type: 'api_request',
        category: 'Audit trail',
        message: 'GET /api/v1/audit_trail/fetch 200',
        user_ip: '192.0.2.1',
        api_key: { id: 'tok_1', name: 'ci' },
        request: {
          uri: '/api/v1/audit_trail/fetch',
          method: 'GET',
          status: 200,
          query_parameters: { marker },
        },
      },
    });

  it('stores a redelivered batch once, skipping foreign and broken lines without failing the batch', async () => {
    // Prepare: two records among lines that are none (another log line, cut JSON, a marked line of
    // the wrong shape, a record of another action), delivered twice.
    const handler = makeHandler(() => storeSelfAuditFunctionDependencies(service.services.config));
    const marker = randomBytes(6).toString('hex');
    const callTime = Date.now() - 3_600_000;
    const first = record(`req-${marker}-1`, marker, callTime);
    const second = record(`req-${marker}-2`, marker, callTime + 1);
    const messages = [
      JSON.stringify({ level: 'info', message: 'endpoint ran', requestId: 'x' }),
      first,
      first.slice(0, 40),
      JSON.stringify({
        selfAudit: SELF_AUDIT_MARKER,
        key: 'k',
        tenant: 'subscribed',
        draft: { action_type: 'user_login' },
      }),
      'START RequestId: 1 Version: $LATEST',
      second,
    ];

    // Act
    await handler(delivery(messages));
    await handler(delivery(messages));
    await handler(delivery([second, first].reverse()));
    await handler(delivery(['CWL CONTROL MESSAGE: Checking health of destination'], 'CONTROL_MESSAGE'));

    // Assess: each stored once, keeping the call's time.
    const stored = withMarker(
      await apiRequests(service.services.doc, service.services.config.EVENTS_TABLE, 'subscribed'),
      marker,
    );
    expect(stored.map((entry) => entry.timestamp).sort()).toEqual([callTime, callTime + 1]);
  }, 60_000);
});
