import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { generateKoreApp } from '../../lambdas/domain/kore-apps.js';
import {
  createRedactor,
  credentialCandidates,
  REDACTED,
  redactJson,
  rememberSecret,
} from '../../lambdas/domain/redaction.js';
import { generateToken } from '../../lambdas/domain/tokens.js';
import {
  clipBytes,
  OMITTED_PARAMETERS,
  redactQueryParameters,
  UNAUTHENTICATED_LIMITS,
} from '../../lambdas/http/self-audit.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcHBJZCI6ImNzLTEyMzQ1Njc4In0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWc';

describe('Function: createRedactor', () => {
  it('finds this service tokens anywhere, in any case, padded or inside other text', () => {
    // Prepare
    const { token } = generateToken();
    const redactor = createRedactor();

    // Act, Assess
    for (const text of [
      token,
      `   ${token}`,
      `${token}\t`,
      token.toUpperCase(),
      token.toLowerCase(),
      `prefix-${token}-suffix`,
      `tz "${token}" is not a known time zone name`,
      `/api/v1/audit_trail/purge/${token}`,
    ]) {
      const redacted = redactor.text(text);
      expect(redacted).toContain(REDACTED);
      expect(redacted.toLowerCase()).not.toContain(token.slice(4, 20).toLowerCase());
    }
  });

  it('finds JWTs, Bearer and Basic credentials and long random strings without being told', () => {
    // Prepare
    const redactor = createRedactor();
    const { clientSecret } = generateKoreApp();
    const cursorKey = randomBytes(32).toString('base64');

    // Act, Assess
    expect(redactor.text(`auth=${JWT}`)).toBe(`auth=${REDACTED}`);
    expect(redactor.text(`x ${JWT.toUpperCase()} y`)).toBe(`x ${REDACTED} y`);
    expect(redactor.text('Authorization: Bearer abcdefgh12345678')).toBe(`Authorization: ${REDACTED}`);
    expect(redactor.text('basic dXNlcjpwYXNzd29yZA==')).toBe(REDACTED);
    expect(redactor.text(`secret ${clientSecret}`)).toBe(`secret ${REDACTED}`);
    expect(redactor.text(cursorKey)).not.toContain(cursorKey.slice(0, 12));
  });

  it('leaves ordinary texts alone', () => {
    // Prepare
    const redactor = createRedactor(['ats_the-credential-of-this-request']);

    // Act, Assess
    for (const text of [
      '/api/v1/audit_trail/download/jobs/exp_00lq2x9k3a1b2c3d4e5f6',
      '/api/v1/audit-trail',
      'filter[startDate] must be in iso format',
      '2021-07-07T11:11:18.464Z',
      'ana@example.com',
      'cs-2b5e1c90-7f3a-4d6b-9e21-0c8f4a7d3b11',
      '5e94d5b63f557b001420bbe3',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'No purge job 1234567890',
    ]) {
      expect(redactor.text(text)).toBe(text);
    }
  });

  it('finds the exact credential a request carried, whatever its format, and clipped echoes of it', () => {
    // Prepare: a token of a format no shape recognises.
    const credential = 'demo-token-0123456789';
    const redactor = createRedactor([`  ${credential} `]);

    // Act, Assess
    expect(redactor.text(`No purge job ${credential.toUpperCase()}`)).toBe(`No purge job ${REDACTED}`);
    expect(redactor.text(`No job ${credential.slice(0, 12)}`)).toBe(`No job ${REDACTED}`);
    expect(redactor.finds('nothing here')).toBe(false);
  });

  it('finds credentials hidden behind percent-encoding', () => {
    // Prepare
    const { token } = generateToken();
    const encoded = `/api/v1/x/%61${token.slice(1)}`;

    // Act
    const redacted = createRedactor().text(encoded);

    // Assess
    expect(redacted).toBe(`/api/v1/x/${REDACTED}`);
  });

  it('finds the secrets this process holds, in base64, base64url and hex', () => {
    // Prepare
    const key = randomBytes(32);
    rememberSecret(key);
    const redactor = createRedactor();

    // Act, Assess
    for (const form of ['base64', 'base64url', 'hex'] as const) {
      expect(redactor.text(`k=${key.toString(form)}`)).toBe(`k=${REDACTED}`);
    }
  });
});

describe('Function: credentialCandidates', () => {
  it('takes the values of credential-named headers and parameters, trimmed, and the part after a scheme', () => {
    // Act
    const candidates = credentialCandidates(
      { authorization: 'Bearer   abc-123-def-456 ', 'content-type': 'application/json' },
      { auth_token: '  padded-token-value  ', limit: '10' },
    );

    // Assess
    expect(candidates).toEqual(
      expect.arrayContaining(['Bearer   abc-123-def-456', 'abc-123-def-456', 'padded-token-value']),
    );
    expect(candidates).not.toContain('application/json');
    expect(candidates).not.toContain('10');
  });
});

describe('Function: redactJson', () => {
  it('redacts keys and values at every depth', () => {
    // Prepare
    const { token } = generateToken();

    // Act
    const redacted = redactJson(
      { message: { errors: [{ field: token, message: `${token} is not allowed` }] } },
      createRedactor().text,
    );

    // Assess
    expect(JSON.stringify(redacted)).not.toContain(token);
    expect(redacted).toEqual({
      message: { errors: [{ field: REDACTED, message: `${REDACTED} is not allowed` }] },
    });
  });
});

describe('Function: redactQueryParameters', () => {
  it('redacts credentials in names and values and bounds an unauthenticated call', () => {
    // Prepare
    const { token } = generateToken();
    const parameters: Record<string, string> = { [token]: '', padded: `   ${token}` };
    for (let n = 0; n < 40; n += 1) parameters[`p${n}`] = 'ä'.repeat(500);

    // Act
    const recorded = redactQueryParameters(parameters, createRedactor(), UNAUTHENTICATED_LIMITS);

    // Assess
    expect(JSON.stringify(recorded)).not.toContain(token.slice(4, 20));
    expect(recorded[REDACTED]).toBe('');
    expect(recorded.padded).toBe(`   ${REDACTED}`);
    expect(Object.keys(recorded)).toHaveLength(UNAUTHENTICATED_LIMITS.parameters + 1);
    expect(recorded[OMITTED_PARAMETERS]).toBe('32 more parameters not recorded');
    expect(Buffer.byteLength(recorded.p0 ?? '', 'utf8')).toBeLessThanOrEqual(
      UNAUTHENTICATED_LIMITS.valueBytes,
    );
    expect(recorded.p0?.endsWith('…')).toBe(true);
  });
});

describe('Function: clipBytes', () => {
  it('cuts on a character boundary within the byte budget, marking the cut', () => {
    expect(clipBytes('😀'.repeat(10), 10)).toBe('😀…');
    expect(clipBytes('short', 10)).toBe('short');
  });
});
