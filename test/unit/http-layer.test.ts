import { describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  BadRequestError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../../lambdas/domain/errors.js';
import { parseCanonicalInteger } from '../../lambdas/domain/integers.js';
import { errorResponse } from '../../lambdas/http/dialects.js';
import { dialectErrors } from '../../lambdas/http/error-handler.js';
import { absoluteLocation } from '../../lambdas/http/request.js';
import { methodsAt } from '../../lambdas/routes.js';

/** An API Gateway REST proxy event, as much of it as these helpers read. */
const eventOf = (fields: {
  path: string;
  headers?: Record<string, string>;
  requestContext?: { domainName?: string; path?: string };
}) =>
  ({
    path: fields.path,
    headers: fields.headers ?? {},
    requestContext: fields.requestContext ?? {},
  }) as unknown as APIGatewayProxyEvent;

describe('absoluteLocation', () => {
  it('keeps the stage of the execute-api URL the client called', () => {
    // Prepare
    const event = eventOf({
      path: '/api/v1/audit_trail/download/json',
      headers: { Host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'X-Forwarded-Proto': 'https' },
      requestContext: {
        domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
        path: '/prod/api/v1/audit_trail/download/json',
      },
    });

    // Act & Assess
    expect(absoluteLocation(event, 'jobs/exp_1')).toBe(
      'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/api/v1/audit_trail/download/jobs/exp_1',
    );
  });

  it("keeps a custom domain's base path, and ignores a trailing slash", () => {
    // Prepare
    const event = eventOf({
      path: '/audit/api/v1/audit_trail/purge/',
      requestContext: { domainName: 'audit.example.com', path: '/audit/api/v1/audit_trail/purge/' },
    });

    // Act & Assess
    expect(absoluteLocation(event, 'purge/pj-7')).toBe(
      'https://audit.example.com/audit/api/v1/audit_trail/purge/pj-7',
    );
  });

  it('uses the Host header and X-Forwarded-Proto when API Gateway gave no domain (locally)', () => {
    // Prepare
    const event = eventOf({
      path: '/api/v1/audit_trail/download/jobs/exp_1',
      headers: { host: '127.0.0.1:3000', 'x-forwarded-proto': 'http' },
    });

    // Act & Assess
    expect(absoluteLocation(event, 'exp_1')).toBe(
      'http://127.0.0.1:3000/api/v1/audit_trail/download/jobs/exp_1',
    );
  });

  it.each([['evil.com/path'], ['a b'], [''], ['host:port']])('answers 400 to the host %j', (host) => {
    // Prepare
    const event = eventOf({ path: '/api/v1/audit_trail/purge', headers: { host } });

    // Act & Assess
    expect(() => absoluteLocation(event, 'purge/pj-1')).toThrow(BadRequestError);
  });
});

describe('Retry-After on every 429 and 503', () => {
  it.each([
    ['a throttled store', new TooManyRequestsError('busy'), 429, '1'],
    ['a failed dependency', new ServiceUnavailableError('down'), 503, '5'],
    ['an explicit wait', new TooManyRequestsError('busy', { retryAfterSeconds: 30 }), 429, '30'],
  ])('sends it for %s, in every dialect', (_name, error, status, seconds) => {
    for (const dialect of ['canary', 'kore', 'apiKey'] as const) {
      // Act
      const response = errorResponse(dialect, error);

      // Assess
      expect([response.statusCode, response.headers?.['retry-after']]).toEqual([status, seconds]);
    }
  });

  it('sends none on other errors', () => {
    expect(errorResponse('canary', new BadRequestError('bad')).headers?.['retry-after']).toBeUndefined();
  });

  it.each([
    [
      'DynamoDB throttling',
      Object.assign(new Error('Rate exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
      429,
    ],
    [
      'S3 SlowDown',
      Object.assign(new Error('Please reduce your request rate'), {
        name: 'SlowDown',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
      }),
      429,
    ],
    [
      'a server fault',
      Object.assign(new Error('Internal'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      }),
      503,
    ],
  ])(
    'turns %s that escaped the adapters into a 429 or 503 with Retry-After',
    async (_name, thrown, status) => {
      // Prepare
      const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
        .use(dialectErrors('kore'))
        .handler(async () => {
          throw thrown;
        });

      // Act
      const response = await handler(eventOf({ path: '/api/public/auditlogs' }), {} as never);

      // Assess
      expect(response.statusCode).toBe(status);
      expect(Number(response.headers?.['retry-after'])).toBeGreaterThan(0);
      expect(JSON.parse(response.body)).toEqual({ errors: [{ msg: expect.any(String), code: status }] });
      expect(response.body).not.toContain(thrown.message);
    },
  );
});

describe('the integer grammar of every numeric parameter', () => {
  it.each([
    ['0', 0],
    ['5', 5],
    ['1000', 1000],
    ['9007199254740991', 9007199254740991],
  ])('reads %j', (text, value) => {
    expect(parseCanonicalInteger(text, 0, Number.MAX_SAFE_INTEGER)).toBe(value);
  });

  it.each([
    ['0005'],
    ['00001'],
    ['00'],
    ['+5'],
    ['-1'],
    ['5.0'],
    ['1e3'],
    [' 5'],
    ['5 '],
    ['0x10'],
    [''],
    ['9007199254740992'],
    ['12345678901234567'],
  ])('refuses %j, whatever its length', (text) => {
    expect(parseCanonicalInteger(text, 0, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });

  it('refuses values out of range', () => {
    expect(parseCanonicalInteger('1001', 1, 1000)).toBeUndefined();
    expect(parseCanonicalInteger('0', 1, 1000)).toBeUndefined();
  });
});

describe('methodsAt', () => {
  it('lists HEAD wherever GET is served, and OPTIONS on every served path', () => {
    expect(methodsAt('/api/v1/audit_trail/fetch')).toEqual(['GET', 'HEAD', 'OPTIONS']);
    expect(methodsAt('/api/v1/audit_trail/events')).toEqual(['POST', 'OPTIONS']);
    expect(methodsAt('/api/v1/audit_trail/nowhere')).toEqual([]);
  });
});
