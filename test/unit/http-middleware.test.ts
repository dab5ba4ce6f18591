import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { log, withRequestLog } from '../../lambdas/adapters/log.js';
import { BadRequestError, PartiallyWrittenError, UnauthorizedError } from '../../lambdas/domain/errors.js';
import type { EventDraft } from '../../lambdas/domain/record.js';
import type { Principal } from '../../lambdas/domain/scopes.js';
import type { SelfAuditRecord } from '../../lambdas/domain/self-audit-line.js';
import { UNAUTHENTICATED_TENANT } from '../../lambdas/domain/tokens.js';
import { authenticate } from '../../lambdas/http/authenticate.js';
import type { HttpDependencies, RequestContext } from '../../lambdas/http/context.js';
import { cors } from '../../lambdas/http/cors.js';
import { jsonResponse } from '../../lambdas/http/dialects.js';
import { dialectErrors } from '../../lambdas/http/error-handler.js';
import { headWithoutBody } from '../../lambdas/http/head.js';
import { httpHandler } from '../../lambdas/http/http-handler.js';
import { redactErrorAnswers } from '../../lambdas/http/redact-answers.js';
import { requestContext } from '../../lambdas/http/request-context.js';
import { requestState } from '../../lambdas/http/request-state.js';
import { selfAudit } from '../../lambdas/http/self-audit.js';
import type { Credential } from '../../lambdas/use-cases/authenticate.js';
import { captureLogs, type LogEntry } from '../helpers/logs.js';

/**
 * Each middleware of lambdas/http/ through a real middy chain: what it does to the request, the
 * context and the answer, and what it leaves alone. The ports are in-memory fakes.
 */

type Event = APIGatewayProxyEvent;
type Result = APIGatewayProxyResult;

const eventOf = (fields: {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: string;
  authorizer?: Record<string, string>;
}): Event =>
  ({
    httpMethod: fields.method ?? 'GET',
    path: fields.path ?? '/api/v1/audit_trail/fetch',
    resource: fields.path ?? '/api/v1/audit_trail/fetch',
    headers: fields.headers ?? {},
    multiValueHeaders: {},
    queryStringParameters: fields.query ?? null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    body: fields.body ?? null,
    isBase64Encoded: false,
    requestContext: {
      identity: { sourceIp: '192.0.2.1' },
      ...(fields.authorizer ? { authorizer: fields.authorizer } : {}),
    },
  }) as unknown as Event;

const lambdaContext = (requestId = 'req-1'): RequestContext =>
  ({
    awsRequestId: requestId,
    functionName: 'canary-fetch',
    getRemainingTimeInMillis: () => 10_000,
  }) as unknown as RequestContext;

const PRINCIPAL: Principal = { tenant: 'acme', tokenId: 'tok_1', tokenName: 'ci', scopes: ['read'] };

/** An authenticator that knows one token, `good`, and counts its lookups. */
const fakeAuthenticator = (principal: Principal = PRINCIPAL) => {
  const seen: Credential[] = [];
  return {
    seen,
    authenticate: async (credential: Credential | undefined): Promise<Principal> => {
      if (credential) seen.push(credential);
      if (credential?.value !== 'good') throw new UnauthorizedError('The credentials provided are not valid');
      return principal;
    },
  };
};

/** An event store that keeps what self-audit appends. */
/** A self-audit channel that keeps what it was handed (as the tenant and drafts it would store). */
const fakeEvents = () => {
  const appended: { tenant: string; key: string; drafts: readonly EventDraft[] }[] = [];
  return {
    appended,
    hand: (record: SelfAuditRecord) => {
      appended.push({ tenant: record.tenant, key: record.key, drafts: [record.draft] });
    },
  };
};

const ok = async (): Promise<Result> => jsonResponse(200, { result: 'success' });

let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
});
const errorLines = (): LogEntry[] => logs.entries().filter((entry) => entry.level === 'error');

describe('requestContext', () => {
  it('puts the dialect and the parsed query and form on the context, and the query on the request state', async () => {
    // Prepare
    let seen: RequestContext | undefined;
    let internalQuery: unknown;
    const handler = middy<Event, Result, Error, RequestContext>()
      .use(requestContext({ dialect: 'kore' }))
      .use({
        before: async (request) => {
          internalQuery = requestState(request).query;
        },
      })
      .handler(async (_event, context) => {
        seen = context;
        return ok();
      });

    // Act
    await handler(
      eventOf({
        method: 'POST',
        query: { limit: '5' },
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'id=42',
      }),
      lambdaContext(),
    );

    // Assess
    expect(seen?.dialect).toBe('kore');
    expect(seen?.query).toEqual({ limit: '5' });
    expect(seen?.form).toEqual({ id: '42' });
    expect(seen?.principal).toBeUndefined();
    expect(internalQuery).toEqual({ limit: '5' });
  });
});

describe('authenticate', () => {
  const chain = (
    authenticator: ReturnType<typeof fakeAuthenticator>,
    options: { narrowsToActor?: boolean } = {},
  ) =>
    middy<Event, Result, Error, RequestContext>()
      .use(requestContext({ dialect: 'canary' }))
      .use(authenticate({ scope: 'read', ...options, authenticator: async () => authenticator }));

  it("resolves the dialect's credential and puts the principal on the context and the request state", async () => {
    // Prepare
    const authenticator = fakeAuthenticator();
    let principal: Principal | undefined;
    let state: unknown;
    const handler = chain(authenticator)
      .use({
        before: async (request) => {
          state = { ...requestState(request) };
        },
      })
      .handler(async (_event, context) => {
        principal = context.principal;
        return ok();
      });

    // Act
    await handler(eventOf({ headers: { 'X-Api-Key': 'good' } }), lambdaContext());

    // Assess
    expect(principal).toEqual(PRINCIPAL);
    expect(state).toMatchObject({
      principal: PRINCIPAL,
      credential: { kind: 'token', value: 'good', source: 'x-api-key' },
    });
  });

  it("takes the authorizer's principal without looking the credential up again", async () => {
    // Prepare
    const authenticator = fakeAuthenticator();
    let principal: Principal | undefined;
    const handler = chain(authenticator).handler(async (_event, context) => {
      principal = context.principal;
      return ok();
    });

    // Act
    await handler(
      eventOf({ authorizer: { tenant: 'acme', tokenId: 'tok_9', tokenName: 'gw', scopes: 'read' } }),
      lambdaContext(),
    );

    // Assess
    expect(principal).toEqual({ tenant: 'acme', tokenId: 'tok_9', tokenName: 'gw', scopes: ['read'] });
    expect(authenticator.seen).toEqual([]);
  });

  it('refuses a missing credential (401), a missing scope and a narrowed token (403) before the handler runs', async () => {
    // Prepare
    let ran = 0;
    const run = async () => {
      ran += 1;
      return ok();
    };
    const narrowed = fakeAuthenticator({ ...PRINCIPAL, actor: 'alice' });
    const writer = fakeAuthenticator({ ...PRINCIPAL, scopes: ['ingest'] });

    // Act
    const missing = chain(fakeAuthenticator()).handler(run)(eventOf({}), lambdaContext());
    const noScope = chain(writer).handler(run)(
      eventOf({ headers: { 'x-api-key': 'good' } }),
      lambdaContext(),
    );
    const narrowedOut = chain(narrowed).handler(run)(
      eventOf({ headers: { 'x-api-key': 'good' } }),
      lambdaContext(),
    );
    const narrowedIn = chain(narrowed, { narrowsToActor: true }).handler(run)(
      eventOf({ headers: { 'x-api-key': 'good' } }),
      lambdaContext(),
    );

    // Assess
    await expect(missing).rejects.toMatchObject({ statusCode: 401 });
    await expect(noScope).rejects.toMatchObject({ statusCode: 403 });
    await expect(narrowedOut).rejects.toMatchObject({ statusCode: 403 });
    await expect(narrowedIn).resolves.toMatchObject({ statusCode: 200 });
    expect(ran).toBe(1);
  });
});

describe('dialectErrors', () => {
  const failing = (error: unknown) =>
    middy<Event, Result>()
      .use(dialectErrors('canary'))
      .handler(async () => {
        throw error;
      });

  it("answers a domain error in the dialect's shape and records the message it showed", async () => {
    // Prepare
    let shown: string | undefined;
    const handler = middy<Event, Result>()
      .use({
        onError: async (request) => {
          shown = requestState(request).shownError;
        },
      })
      .use(dialectErrors('canary'))
      .handler(async () => {
        throw new BadRequestError('limit must be an integer');
      });

    // Act
    const response = await handler(eventOf({}), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ result: 'error', message: 'limit must be an integer' });
    expect(shown).toBe('limit must be an integer');
    expect(errorLines()).toEqual([]);
  });

  it('adds the Idempotency-Key advice to a partial write: the store error itself carries none', async () => {
    // Prepare
    const error = new PartiallyWrittenError(
      'The audit store is busy: only the first 2 of 3 events were written.',
    );

    // Act
    const response = await failing(error)(eventOf({}), lambdaContext());

    // Assess
    expect(error.message).not.toContain('Idempotency-Key');
    expect(response.statusCode).toBe(429);
    expect(JSON.parse(response.body).message).toBe(
      'The audit store is busy: only the first 2 of 3 events were written. Retry with the same Idempotency-Key to complete the request without duplicates.',
    );
    expect(response.headers?.['retry-after']).toBe('1');
  });

  it('answers anything else with a bare 500 and logs its name and stack, never its message', async () => {
    // Act
    const response = await failing(new TypeError('secret detail'))(eventOf({}), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ result: 'error', message: 'Internal error' });
    const [line, ...others] = errorLines();
    expect(others).toEqual([]);
    expect(line).toMatchObject({ message: 'unhandled error', error: { name: 'TypeError' } });
    expect(JSON.stringify(line)).not.toContain('"message":"secret detail"');
  });
});

describe('cors', () => {
  const chain = (origins: () => Promise<readonly string[]>) =>
    middy<Event, Result>().use(cors(origins)).handler(ok);

  it('names an allowed origin on the answer, and adds nothing for any other origin', async () => {
    // Act
    const allowed = await chain(async () => ['https://app.example'])(
      eventOf({ headers: { origin: 'https://app.example' } }),
      lambdaContext(),
    );
    const other = await chain(async () => ['https://app.example'])(
      eventOf({ headers: { origin: 'https://evil.example' } }),
      lambdaContext(),
    );

    // Assess
    expect(allowed.headers?.['access-control-allow-origin']).toBe('https://app.example');
    expect(Object.keys(other.headers ?? {}).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('turns CORS off, and logs it, when the allow-list cannot be read', async () => {
    // Act
    const response = await chain(async () => {
      throw new Error('Invalid configuration');
    })(eventOf({ headers: { origin: 'https://app.example' } }), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['access-control-allow-origin']).toBeUndefined();
    expect(errorLines().map((line) => line.message)).toEqual(['CORS configuration unreadable']);
  });
});

describe('headWithoutBody', () => {
  it('empties the body of a HEAD answer and keeps its status and headers; GET keeps its body', async () => {
    // Prepare
    const handler = middy<Event, Result>().use(headWithoutBody()).handler(ok);

    // Act
    const head = await handler(eventOf({ method: 'HEAD' }), lambdaContext());
    const get = await handler(eventOf({ method: 'GET' }), lambdaContext());

    // Assess
    expect(head).toMatchObject({ statusCode: 200, body: '' });
    expect(head.headers?.['content-type']).toBe(get.headers?.['content-type']);
    expect(JSON.parse(get.body)).toEqual({ result: 'success' });
  });
});

describe('redactErrorAnswers', () => {
  it('redacts the credential an error answer echoes, and leaves success answers alone', async () => {
    // Prepare
    const token = `tok_${'a'.repeat(40)}`;
    const echo = (status: number) =>
      middy<Event, Result>()
        .use(redactErrorAnswers())
        .handler(async () => jsonResponse(status, { message: `unknown parameter ${token}` }));
    const event = eventOf({ headers: { 'x-api-key': token } });

    // Act
    const failed = await echo(400)(event, lambdaContext());
    const succeeded = await echo(200)(event, lambdaContext());

    // Assess
    expect(failed.body).not.toContain(token);
    expect(JSON.parse(failed.body).message).toBe('unknown parameter [REDACTED]');
    expect(succeeded.body).toContain(token);
  });
});

describe('selfAudit', () => {
  const dependencies = (authenticator = fakeAuthenticator(), events = fakeEvents()) => ({
    authenticator,
    events,
    deps: async (): Promise<HttpDependencies> => ({ authenticator, selfAudit: events, corsAllowOrigins: [] }),
  });

  it("records the call under the caller's tenant, reusing the principal authentication resolved", async () => {
    // Prepare
    const { authenticator, events, deps } = dependencies();
    const handler = middy<Event, Result, Error, RequestContext>()
      .use(selfAudit(deps))
      .use(dialectErrors('canary'))
      .use(requestContext({ dialect: 'canary' }))
      .use(authenticate({ scope: 'read', authenticator: async () => authenticator }))
      .handler(ok);

    // Act
    await handler(eventOf({ headers: { 'x-api-key': 'good' }, query: { limit: '5' } }), lambdaContext());

    // Assess
    expect(authenticator.seen).toHaveLength(1);
    expect(events.appended).toHaveLength(1);
    expect(events.appended[0]?.tenant).toBe('acme');
    // Keyed by the invocation, stamped with the call's time (stored later by the consumer).
    expect(events.appended[0]?.key).toBe(lambdaContext().awsRequestId);
    expect(events.appended[0]?.drafts[0]?.timestamp).toEqual(expect.any(Number));
    expect(events.appended[0]?.drafts[0]).toMatchObject({
      action_type: 'api_request',
      message: 'GET /api/v1/audit_trail/fetch 200',
      api_key: { id: 'tok_1', name: 'ci' },
      request: { status: 200, query_parameters: { limit: '5' } },
    });
  });

  it('records the error message the caller was shown, advice included, and does not look a refused credential up twice', async () => {
    // Prepare
    const { authenticator, events, deps } = dependencies();
    const refused = middy<Event, Result, Error, RequestContext>()
      .use(selfAudit(deps))
      .use(dialectErrors('canary'))
      .use(requestContext({ dialect: 'canary' }))
      .use(authenticate({ scope: 'read', authenticator: async () => authenticator }))
      .handler(ok);
    const partial = middy<Event, Result, Error, RequestContext>()
      .use(selfAudit(deps))
      .use(dialectErrors('canary'))
      .handler(async () => {
        throw new PartiallyWrittenError(
          'The audit store is busy: only the first 1 of 2 events were written.',
        );
      });

    // Act
    await refused(eventOf({ headers: { 'x-api-key': 'bad' } }), lambdaContext());
    await partial(
      eventOf({ method: 'POST', authorizer: { tenant: 'acme', tokenId: 'tok_1' } }),
      lambdaContext(),
    );

    // Assess
    expect(authenticator.seen).toHaveLength(1);
    const [first, second] = events.appended;
    expect(first?.tenant).toBe(UNAUTHENTICATED_TENANT);
    expect(first?.drafts[0]?.request).toMatchObject({
      status: 401,
      error: 'The credentials provided are not valid',
    });
    expect(second?.tenant).toBe('acme');
    expect(second?.drafts[0]?.request?.error).toContain('Retry with the same Idempotency-Key');
  });

  it("never changes the caller's answer when recording fails, and logs the failure's kind only", async () => {
    // Prepare
    const events = {
      hand: (): never => {
        throw Object.assign(new Error('item value secret'), { name: 'InternalServerError' });
      },
    };
    const handler = middy<Event, Result>()
      .use(
        selfAudit(async () => ({
          authenticator: fakeAuthenticator(),
          selfAudit: events,
          corsAllowOrigins: [],
        })),
      )
      .handler(ok);

    // Act
    const response = await handler(eventOf({}), lambdaContext());

    // Assess
    expect(response.statusCode).toBe(200);
    expect(errorLines()).toEqual([
      expect.objectContaining({ message: 'self-audit record failed', error: 'InternalServerError' }),
    ]);
    expect(JSON.stringify(logs.entries())).not.toContain('item value secret');
  });
});

describe('httpHandler', () => {
  it("hands the endpoint the composition root's dependencies and logs with the request id and function name", async () => {
    // Prepare
    const authenticator = fakeAuthenticator();
    const events = fakeEvents();
    const deps = { authenticator, selfAudit: events, corsAllowOrigins: [], greeting: 'hello' };
    const handler = httpHandler(
      { dialect: 'canary', scope: 'read' },
      () => deps,
      async (_event, _context, received) => {
        log.info('endpoint ran', { greeting: received.greeting });
        return ok();
      },
    );

    // Act
    const response = await handler(eventOf({ headers: { 'x-api-key': 'good' } }), lambdaContext('req-42'));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(events.appended).toHaveLength(1);
    expect(logs.entries()).toEqual([
      expect.objectContaining({
        level: 'info',
        message: 'endpoint ran',
        greeting: 'hello',
        requestId: 'req-42',
        functionName: 'canary-fetch',
        timestamp: expect.any(String),
      }),
    ]);
  });
});

describe('withRequestLog', () => {
  it('keeps each concurrent invocation its own request id, awaited work included', async () => {
    // Prepare
    const handler = withRequestLog(async (event: { n: number }, _context: Context) => {
      await new Promise((resolve) => setTimeout(resolve, event.n));
      log.info('done', { n: event.n });
      return event.n;
    });

    // Act
    await Promise.all([
      handler({ n: 5 }, { awsRequestId: 'slow', functionName: 'f' } as Context),
      handler({ n: 1 }, { awsRequestId: 'fast', functionName: 'f' } as Context),
    ]);
    log.info('outside');

    // Assess
    const byN = Object.fromEntries(logs.entries().map((entry) => [String(entry.n), entry.requestId]));
    expect(byN).toEqual({ '5': 'slow', '1': 'fast', undefined: undefined });
  });
});
