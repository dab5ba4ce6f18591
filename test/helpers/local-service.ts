import { randomBytes } from 'node:crypto';
import type { ServiceConfig } from '../../lambdas/composition/config.js';
import type { Scope } from '../../lambdas/domain/scopes.js';
import { issueToken } from '../../lambdas/use-cases/manage-tokens.js';
import { type LocalService, newCursorKey, startLocalService } from '../../local/stack.js';
import { checkResponse } from './openapi-validator.js';

/** The service on the shared emulators, with tables and buckets of its own. */
export interface TestService extends LocalService {
  /** A new token for `tenant` with `scopes`. */
  token(tenant: string, scopes: readonly Scope[]): Promise<string>;
  /** GET `path` with `query`, parsed as JSON when it is JSON. */
  get(path: string, query?: Record<string, string>, headers?: Record<string, string>): Promise<TestResponse>;
  /** Sends any request. */
  request(
    method: string,
    path: string,
    init?: { query?: Record<string, string>; headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<TestResponse>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
  /** The body as received (a zip download). */
  readonly bytes: Buffer;
}

/** Service settings for a test, named as the environment variables (`PURGE_PART_ENTRIES: '100'`). */
export type TestConfig = Readonly<Partial<Record<keyof ServiceConfig, string>>>;

/** The services this test process started, so a check can wait for all their consumers. */
const running = new Set<LocalService>();

/**
 * Waits until every running service's stream consumer has derived everything written so far:
 * rollup counters are exact from then on (checks that compare counters with entries call it).
 */
export const settleDerivation = async (): Promise<void> => {
  await Promise.all([...running].map((service) => service.settle()));
};

/**
 * Starts the service for one test file: unique table and bucket names on the emulators that the
 * global setup started, the gateway on a free loopback port. `config` sets what the test needs
 * (a small purge part, no request budget, …) for this service only: never assign `process.env`.
 */
export const startTestService = async (
  options: {
    corsAllowOrigins?: readonly string[];
    config?: TestConfig;
    /**
     * Wait for the stream consumer to catch up before each request, for tests that assert exact
     * totals (rollup counters are derived behind the request path; see docs/architecture.md).
     */
    settleBeforeRequests?: boolean;
    /** Where the stream consumer runs (see `startLocalService`); default this thread. */
    derivationThread?: 'main' | 'worker';
  } = {},
): Promise<TestService> => {
  const s3Endpoint = process.env.TEST_S3_ENDPOINT;
  const dynamoDbEndpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!s3Endpoint || !dynamoDbEndpoint) throw new Error('The emulators are not running (jest globalSetup)');
  const suffix = randomBytes(4).toString('hex');
  // A DynamoDB Local database of its own (the global setup's emulator keeps one per access key):
  // the emulator's stream reads slow down with every stream record its database has ever held,
  // deleted tables included (scripts/probe-emulator-streams.ts), so on a shared one each test
  // file's stream consumer would be slower than the last.
  const service = await startLocalService(
    { dynamoDbEndpoint, s3Endpoint, dynamoDbDatabase: `service${suffix}` },
    {
      names: {
        eventsTable: `events-${suffix}`,
        controlTable: `control-${suffix}`,
        exportsBucket: `exports-${suffix}`,
        archiveBucket: `archive-${suffix}`,
      },
      cursorKey: newCursorKey(),
      port: 0,
      ...(options.corsAllowOrigins !== undefined ? { corsAllowOrigins: options.corsAllowOrigins } : {}),
      ...(options.config !== undefined ? { settings: options.config } : {}),
      ...(options.derivationThread !== undefined ? { derivationThread: options.derivationThread } : {}),
    },
  );
  const request: TestService['request'] = async (method, path, init = {}) => {
    if (options.settleBeforeRequests) await service.settle();
    const url = new URL(path, service.url);
    for (const [name, value] of Object.entries(init.query ?? {})) url.searchParams.append(name, value);
    const response = await fetch(url, {
      method,
      headers: init.headers ?? {},
      redirect: 'manual',
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const contentType = response.headers.get('content-type') ?? '';
    const bytes = Buffer.from(await response.arrayBuffer());
    // The call's self-audit record was handed to the journal before the answer; its consumer
    // stores it behind the request path (as the log subscription does on AWS). Tests read records
    // right after a call, so a request returns once the record is stored.
    await service.drainSelfAudit();
    const text = bytes.toString('utf8');
    let body: unknown = text;
    if (contentType.includes('json') && text.length > 0) body = JSON.parse(text);
    // Every response must be what openapi/openapi.json documents for it, headers included.
    const problem = checkResponse(method, url.pathname, response.status, contentType, body, response.headers);
    if (problem) throw new Error(`Response does not match the OpenAPI description: ${problem}`);
    return { status: response.status, headers: response.headers, body, text, bytes };
  };
  running.add(service);
  const stop = service.stop;
  // Entries seeded straight into the store count once the stream consumer has derived them; the
  // tests' own handle on the store waits for that, so a seeded trail reads as caught up. (The
  // handlers' store is a different object and does not wait: requests see the real lag.)
  const events = service.services.events;
  const settlingEvents: typeof events = {
    append: async (...args) => {
      const records = await events.append(...args);
      await service.settle();
      return records;
    },
    reserveIds: (drafts) => events.reserveIds(drafts),
    queryPage: (query) => events.queryPage(query),
    countEntries: (query) => events.countEntries(query),
  };
  return {
    ...service,
    services: { ...service.services, events: settlingEvents },
    stop: async () => {
      running.delete(service);
      await stop();
    },
    token: async (tenant, scopes) =>
      (await issueToken(service.services.tokens, { tenant, scopes }, service.services.tenants)).token,
    request,
    get: (path, query, headers) => request('GET', path, { query: query ?? {}, headers: headers ?? {} }),
  };
};
