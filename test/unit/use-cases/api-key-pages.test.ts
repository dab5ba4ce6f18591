import { describe, expect, it } from '@jest/globals';
import { BadRequestError } from '../../../lambdas/domain/errors.js';
import { firstIdAt, lastIdAt, MAX_ID } from '../../../lambdas/domain/ids.js';
import type { EventDraft } from '../../../lambdas/domain/record.js';
import {
  type ApiKeyPageDependencies,
  type ApiKeyPageRequest,
  apiKeyPage,
} from '../../../lambdas/use-cases/api-key-pages.js';
import { hoursAfter, idsOf, logins, newCursorKey, oldestFirst, testClock, trailOf } from './trail.js';

const TENANT = 'acme';

const apiCall = (minute: number, keyId: string): EventDraft => ({
  timestamp: hoursAfter(2, minute),
  action_type: 'api_request',
  api_key: { id: keyId, name: 'CI key' },
  request: { uri: '/api/v1/audit_trail', method: 'GET', status: 200, query_parameters: {} },
});

const setup = async (drafts: readonly EventDraft[] = logins(5)) => {
  const trail = await trailOf(TENANT, drafts);
  const time = testClock();
  const deps: ApiKeyPageDependencies = {
    events: trail.events,
    cursorKey: newCursorKey(),
    cursorTtlSeconds: 600,
    clock: time.clock,
  };
  const page = (request: Partial<ApiKeyPageRequest> = {}) =>
    apiKeyPage(deps, {
      tenant: TENANT,
      selector: { kind: 'all' },
      minId: 0,
      maxId: MAX_ID,
      pageSize: 2,
      filters: {},
      ...request,
    });
  return { ...trail, ...time, page };
};

describe('apiKeyPage (cursor pages, oldest first)', () => {
  it('serves the oldest entries first, with a cursor to the next page', async () => {
    // Prepare
    const { page, records } = await setup();

    // Act
    const first = await page();

    // Assess
    expect(idsOf(first.records)).toEqual(oldestFirst(records).slice(0, 2));
    expect(first.next).toEqual(expect.any(String));
    expect(first.itemsRead).toBe(3);
  });

  it('walks every entry once, and the last page has no next cursor even when it is full', async () => {
    // Prepare
    const { page, records } = await setup(logins(4));

    // Act
    const first = await page();
    const second = await page({ cursor: first.next as string });

    // Assess
    expect([...idsOf(first.records), ...idsOf(second.records)]).toEqual(oldestFirst(records));
    expect(second.next).toBeNull();
  });

  it('continues after the last entry served, so entries written meanwhile only add to the end', async () => {
    // Prepare
    const { page, events } = await setup(logins(3));
    const first = await page();

    // Act
    const [late] = await events.append(TENANT, logins(1, hoursAfter(9)));
    const second = await page({ cursor: first.next as string });

    // Assess
    expect(idsOf(second.records)).toEqual([
      ...oldestFirst(events.all(TENANT)).slice(2, 3),
      late?.id as number,
    ]);
  });

  it('lists only the entries in the id range and of the selector', async () => {
    // Prepare
    const { page, records } = await setup([
      ...logins(2, hoursAfter(1)),
      apiCall(0, 'tok_000000000000000a'),
      apiCall(1, 'tok_000000000000000b'),
      apiCall(2, 'tok_000000000000000a'),
      apiCall(70, 'tok_000000000000000a'),
    ]);
    const inRange = records.filter(
      (record) => record.api_key?.id === 'tok_000000000000000a' && record.timestamp < hoursAfter(3),
    );

    // Act
    const listed = await page({
      selector: { kind: 'apiCalls', actor: 'tok_000000000000000a' },
      minId: firstIdAt(hoursAfter(2)),
      maxId: lastIdAt(hoursAfter(3) - 1),
      pageSize: 10,
    });

    // Assess
    expect(idsOf(listed.records)).toEqual(oldestFirst(inRange));
    expect(listed.next).toBeNull();
  });

  it('refuses a cursor used with other filters, naming page[cursor]', async () => {
    // Prepare
    const { page } = await setup();
    const first = await page({ filters: { 'filter[user]': 'ana@example.com' } });

    // Act
    const reused = page({ cursor: first.next as string, filters: { 'filter[user]': 'bob@example.com' } });

    // Assess
    await expect(reused).rejects.toBeInstanceOf(BadRequestError);
    await expect(reused).rejects.toMatchObject({ field: 'page[cursor]' });
  });

  it('refuses a cursor once its lifetime is over', async () => {
    // Prepare
    const { page, advance } = await setup();
    const first = await page();

    // Act
    advance(601_000);
    const late = page({ cursor: first.next as string });

    // Assess
    await expect(late).rejects.toBeInstanceOf(BadRequestError);
  });
});
