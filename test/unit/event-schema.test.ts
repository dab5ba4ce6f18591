import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import canonicalize from 'canonicalize';
import { bodyHash, fieldName, parseIngestBody } from '../../lambdas/domain/event-schema.js';
import { createRedactor } from '../../lambdas/domain/redaction.js';
import { redactQueryParameters } from '../../lambdas/http/self-audit.js';

describe('event schema', () => {
  it('names nested fields the way a JSON client writes them', () => {
    expect(fieldName(['events', 3, 'request', 'status'])).toBe('events[3].request.status');
  });

  it('reports every problem, each with its field', () => {
    // Act
    let problems: { field: string }[] = [];
    try {
      parseIngestBody({ events: [{ action_type: 'ok', bogus: 1 }, { user: 7 }] }, { allowTimestamps: false });
    } catch (error) {
      problems = (error as { problems: { field: string }[] }).problems;
    }

    // Assess
    expect(problems.map((problem) => problem.field).sort()).toEqual([
      'events[0].bogus',
      'events[1].action_type',
      'events[1].user',
    ]);
  });

  it('counts string limits in UTF-8 bytes', () => {
    const user = 'é'.repeat(513); // 1026 bytes
    expect(() =>
      parseIngestBody({ events: [{ action_type: 'a', user }] }, { allowTimestamps: false }),
    ).toThrow('events[0].user');
  });

  it('hashes bodies independently of key order and whitespace', () => {
    expect(bodyHash(JSON.parse('{"b":1,"a":[1,2]}'))).toBe(bodyHash({ a: [1, 2], b: 1 }));
    expect(bodyHash({ a: 1 })).not.toBe(bodyHash({ a: 2 }));
    // The hash stored with an Idempotency-Key claim before any change of how it is computed.
    const body = {
      events: [
        { action_type: 'a', message: 'é "q" \\ \u2028 \ud83d\ude00', additional_information: [1.5, -0] },
      ],
    };
    expect(bodyHash(body)).toBe(
      createHash('sha256')
        .update(canonicalize(body) as string)
        .digest('hex'),
    );
  });
});

describe('query parameter redaction', () => {
  it('redacts credentials by name, by shape and by value', () => {
    expect(
      redactQueryParameters(
        {
          auth_token: 'x',
          'API-KEY': 'x',
          client_secret: 'x',
          'X-Amz-Signature': 'x',
          jwt: 'x',
          echo: 'my-credential-value-123',
          bearerish: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
          limit: '5',
        } as Record<string, string>,
        createRedactor(['my-credential-value-123']),
      ),
    ).toEqual({
      auth_token: '[REDACTED]',
      'API-KEY': '[REDACTED]',
      client_secret: '[REDACTED]',
      'X-Amz-Signature': '[REDACTED]',
      jwt: '[REDACTED]',
      echo: '[REDACTED]',
      bearerish: '[REDACTED]',
      limit: '5',
    });
  });
});
