import { describe, expect, it } from '@jest/globals';
import { toApiKeyEntry } from '../../lambdas/domain/api-key-view.js';
import { koreSpan, parseIsoDay, parseKoreDate } from '../../lambdas/domain/date-range.js';
import { toKoreEntry } from '../../lambdas/domain/kore-view.js';
import { sealRecord } from '../../lambdas/domain/record.js';

const at = Date.UTC(2020, 0, 4, 17, 6, 52, 745);

describe('kore dates', () => {
  it('reads a bare date as its whole UTC day and an ISO time as its millisecond', () => {
    expect(parseKoreDate('2019-04-01')).toEqual({
      start: Date.UTC(2019, 3, 1),
      end: Date.UTC(2019, 3, 2) - 1,
    });
    const ms = Date.parse('2019-04-01T13:25:58.515Z');
    expect(parseKoreDate('2019-04-01T13:25:58.515Z')).toEqual({ start: ms, end: ms });
    expect(parseKoreDate('2019-04-01T13:25:58Z')?.start).toBe(ms - 515);
  });

  it('refuses what is not a date', () => {
    for (const text of [
      '2019-4-1',
      '2019-02-29',
      '2019-04-01T24:00:00.000Z',
      '2019-04-01T13:25:58.515',
      'now',
      '',
    ])
      expect(parseKoreDate(text)).toBeUndefined();
  });

  it('swaps a fromDate later than toDate, keeping a bare toDate whole', () => {
    const from = parseKoreDate('2021-07-07T11:11:18.464Z');
    const to = parseKoreDate('2021-06-30T11:11:18.469Z');
    expect(koreSpan(from, to)).toEqual({
      start: Date.parse('2021-06-30T11:11:18.469Z'),
      end: Date.parse('2021-07-07T11:11:18.464Z'),
    });
    expect(koreSpan(parseKoreDate('2021-07-07'), parseKoreDate('2021-06-30'))).toEqual({
      start: Date.UTC(2021, 5, 30),
      end: Date.UTC(2021, 6, 8) - 1,
    });
    expect(koreSpan(undefined, parseKoreDate('2021-06-30'))).toEqual({
      start: 0,
      end: Date.UTC(2021, 6, 1) - 1,
    });
  });

  it('api-key dates are strict YYYY-MM-DD', () => {
    expect(parseIsoDay('2023-11-01')?.start).toBe(Date.UTC(2023, 10, 1));
    expect(parseIsoDay('2023-11-01T00:00:00.000Z')).toBeUndefined();
  });
});

describe('dialect views of one record', () => {
  const request = sealRecord('acme', 42, at, {
    action_type: 'api_request',
    category: 'Reconciliations',
    user_ip: '123.45.6.78',
    api_key: { id: 'tok_1', name: 'API Token' },
    request: {
      uri: '/api/v1/reconciliations',
      method: 'GET',
      status: 400,
      query_parameters: { 'page[size]': '500' },
      error: 'Error message',
    },
  });
  const login = sealRecord('acme', 43, at, {
    action_type: 'user_logout',
    category: 'Login/Logout',
    message: 'User logged out',
    user: 'ana@example.com',
    user_ip: '127.0.0.1',
  });

  it('kore: the seed fields in the seed order', () => {
    expect(toKoreEntry(login)).toEqual({
      timestampValue: at,
      'Date/Time': '2020-01-04T17:06:52.745Z',
      Description: 'User logged out by ana@example.com from 127.0.0.1',
      Name: 'User logout',
      Category: 'Login/Logout',
      AuditLogId: '43',
    });
    expect(toKoreEntry(request)).toMatchObject({ Name: 'API request', Category: 'API' });
  });

  it('api-key: a request entry fills every seed field, with a string status', () => {
    expect(toApiKeyEntry(request)).toEqual({
      id: '42',
      uri: '/api/v1/reconciliations',
      method: 'GET',
      sourceIp: '123.45.6.78',
      meta: {
        status: '400',
        service: 'Reconciliations',
        queryParameters: { 'page[size]': '500' },
        error: 'Error message',
      },
      userApiKey: { id: 'tok_1', name: 'API Token' },
      createdAt: '2020-01-04T17:06:52.745Z',
    });
  });

  it('api-key: another entry leaves out the request fields it has not got', () => {
    expect(toApiKeyEntry(login)).toEqual({
      id: '43',
      sourceIp: '127.0.0.1',
      meta: { service: 'Login/Logout' },
      userApiKey: { id: 'ana@example.com', name: 'ana@example.com' },
      createdAt: '2020-01-04T17:06:52.745Z',
    });
  });
});
