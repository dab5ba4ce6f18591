import { describe, expect, it } from '@jest/globals';
import { toCanaryEntry } from '../../../lambdas/domain/canary-view.js';
import { idFor } from '../../../lambdas/domain/ids.js';
import { hashRecord, sealRecord } from '../../../lambdas/domain/record.js';
import { formatCanaryZoned, isKnownTimeZone } from '../../../lambdas/domain/time.js';

const timestamp = Date.UTC(2020, 3, 17, 11, 58, 10);
const login = sealRecord('acme', idFor(timestamp, 0), timestamp, {
  action_type: 'user_login',
  message: 'User a@example.com logged in',
  user: 'a@example.com',
  user_ip: '203.0.113.9',
  user_browser_agent: 'agent',
  user_browser_language: 'en-US,en;q=0.9',
});

describe('Function: toCanaryEntry', () => {
  it('shows a record exactly as seed 000 does', () => {
    expect(toCanaryEntry(login)).toEqual({
      action_type: 'user_login',
      additional_information: null,
      flock_id: null,
      id: login.id,
      message: 'User a@example.com logged in',
      timestamp: '2020-04-17 11:58:10 UTC+0000',
      user: 'a@example.com',
      user_browser_agent: 'agent',
      user_browser_language: 'en-US,en;q=0.9',
      user_ip: '203.0.113.9',
    });
  });

  it('adds timestamp_std in the requested zone, keys still sorted', () => {
    const entry = toCanaryEntry(login, 'Europe/Berlin');
    expect(entry.timestamp_std).toBe('2020-04-17 13:58:10 CEST+0200');
    expect(Object.keys(entry)).toEqual([...Object.keys(entry)].sort());
  });

  it('describes API request entries', () => {
    const request = sealRecord('acme', idFor(timestamp, 1), timestamp, {
      action_type: 'api_request',
      request: { uri: '/api/v1/audit_trail/fetch', method: 'GET', status: 401, query_parameters: {} },
      api_key: { id: 'tok_1', name: 'SIEM' },
    });
    const entry = toCanaryEntry(request);
    expect(entry.message).toBe('GET /api/v1/audit_trail/fetch returned 401');
    expect(entry.user).toBe('SIEM');
  });
});

describe('Function: formatCanaryZoned', () => {
  it('formats zones with and without abbreviations and half-hour offsets', () => {
    expect(formatCanaryZoned(timestamp, 'UTC')).toBe('2020-04-17 11:58:10 UTC+0000');
    expect(formatCanaryZoned(timestamp, 'America/New_York')).toBe('2020-04-17 07:58:10 EDT-0400');
    expect(formatCanaryZoned(timestamp, 'Asia/Kolkata')).toBe('2020-04-17 17:28:10 IST+0530');
  });

  it('knows real zones and refuses invented ones', () => {
    expect(isKnownTimeZone('Europe/London')).toBe(true);
    expect(isKnownTimeZone('Mars/Base')).toBe(false);
    expect(isKnownTimeZone('')).toBe(false);
  });
});

describe('Function: hashRecord', () => {
  it('is stable under key order and changes with any field', () => {
    const { hash, ...content } = login;
    expect(hashRecord(content)).toBe(hash);
    expect(hashRecord({ ...content, message: 'changed' })).not.toBe(hash);
    const reordered = Object.fromEntries(Object.entries(content).reverse()) as typeof content;
    expect(hashRecord(reordered)).toBe(hash);
  });
});
