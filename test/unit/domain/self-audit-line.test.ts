import { describe, expect, it } from '@jest/globals';
import {
  MAX_LINE_BYTES,
  parseSelfAuditLine,
  SELF_AUDIT_MARKER,
  type SelfAuditRecord,
  selfAuditLine,
} from '../../../lambdas/domain/self-audit-line.js';

const record = (queryParameters: Record<string, string>): SelfAuditRecord => ({
  key: 'req-1',
  tenant: 'acme',
  draft: {
    timestamp: 1_780_000_000_000,
    action_type: 'api_request',
    category: 'Audit trail',
    message: 'GET /api/v1/audit_trail/fetch 200',
    api_key: { id: 'tok_1', name: 'ci' },
    request: {
      uri: '/api/v1/audit_trail/fetch',
      method: 'GET',
      status: 200,
      query_parameters: queryParameters,
    },
  },
});

describe('self-audit lines', () => {
  it('carries a record on one line and back', () => {
    // Act
    const line = selfAuditLine(record({ limit: '5', note: 'a\nb' }));
    // Assess
    expect(line).not.toContain('\n');
    expect(line).toContain(`"selfAudit":"${SELF_AUDIT_MARKER}"`);
    expect(parseSelfAuditLine(line)).toEqual(record({ limit: '5', note: 'a\nb' }));
  });

  it('takes no other line for a record', () => {
    for (const other of [
      '',
      'START RequestId: 1',
      JSON.stringify({ level: 'info', message: SELF_AUDIT_MARKER }),
      JSON.stringify({
        selfAudit: SELF_AUDIT_MARKER,
        key: 'k',
        tenant: 'acme',
        draft: { action_type: 'user_login' },
      }),
      JSON.stringify({
        selfAudit: 'audit-trail.self-audit.v0',
        key: 'k',
        tenant: 'acme',
        draft: record({}).draft,
      }),
      selfAuditLine(record({})).slice(0, -2),
    ])
      expect(parseSelfAuditLine(other)).toBeUndefined();
  });

  it("keeps a record whose escaped parameters would pass the log's event size, counting them instead", () => {
    // Prepare: 50 names and values of 1 KB of control characters, six bytes each once escaped.
    const control = '\u0001'.repeat(1000);
    const parameters = Object.fromEntries(
      Array.from({ length: 50 }, (_, index) => [`${index}${control}`, control]),
    );
    const whole = JSON.stringify(record(parameters));
    // Act
    const line = selfAuditLine(record(parameters));
    // Assess
    expect(Buffer.byteLength(whole)).toBeGreaterThan(256 * 1024);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(parseSelfAuditLine(line)?.draft.request).toEqual({
      uri: '/api/v1/audit_trail/fetch',
      method: 'GET',
      status: 200,
      query_parameters: { '…': '50 parameters not recorded (the record was over the size limit)' },
    });
  });
});
