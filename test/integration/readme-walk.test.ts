import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { demoEvents } from '../../local/demo-data.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

interface CanaryPage {
  audit_trail: { id: number; action_type: string }[];
  cursor: { next: string | null; prev: string | null };
  page_count: number;
  page_number: number;
  result: string;
}

/** The README's seed 000 walk, run with the real curl and Python requests against the gateway. */
describe('README: the seed 000 walk with curl and Python requests', () => {
  let service: TestService;
  let token: string;

  beforeAll(async () => {
    service = await startTestService();
    token = await service.token('demo', ['read']);
    const drafts = demoEvents({ count: 300, days: 3, now: Date.UTC(2026, 10, 1) });
    for (let start = 0; start < drafts.length; start += 100)
      await service.services.events.append('demo', drafts.slice(start, start + 100));
  });
  afterAll(async () => service.stop());

  // Asynchronous on purpose: the gateway runs in this very process and must keep serving.
  const run = async (command: string, args: string[]): Promise<CanaryPage> =>
    JSON.parse((await promisify(execFile)(command, args, { encoding: 'utf8' })).stdout) as CanaryPage;

  const curl = (...data: string[]): Promise<CanaryPage> =>
    run('curl', ['-sS', `${service.url}/api/v1/audit_trail/fetch`, ...data.flatMap((d) => ['-d', d]), '-G']);

  const python = (payload: Record<string, string | number>): Promise<CanaryPage> => {
    const script = [
      'import json, sys, requests',
      'url, payload = sys.argv[1], json.loads(sys.argv[2])',
      'r = requests.get(url, params=payload)',
      'print(json.dumps(r.json()))',
    ].join('\n');
    return run('python3', ['-c', script, `${service.url}/api/v1/audit_trail/fetch`, JSON.stringify(payload)]);
  };

  it('pages forward and back with curl', async () => {
    const first = await curl(`auth_token=${token}`, 'limit=5', 'action_filter=user_login');
    const second = await curl(
      `auth_token=${token}`,
      'action_filter=user_login',
      `cursor=${first.cursor.next}`,
    );
    const back = await curl(
      `auth_token=${token}`,
      'action_filter=user_login',
      `cursor=${second.cursor.prev}`,
    );
    expect(first.page_number).toBe(1);
    expect(first.audit_trail).toHaveLength(5);
    expect(second.page_number).toBe(2);
    expect(back.audit_trail).toEqual(first.audit_trail);
    expect(back.page_number).toBe(1);
  });

  it('pages forward and back with Python requests, agreeing with curl', async () => {
    const first = await python({ auth_token: token, limit: 5, action_filter: 'user_login' });
    const second = await python({
      auth_token: token,
      action_filter: 'user_login',
      cursor: first.cursor.next as string,
    });
    const back = await python({
      auth_token: token,
      action_filter: 'user_login',
      cursor: second.cursor.prev as string,
    });
    expect(first.audit_trail).toEqual(
      (await curl(`auth_token=${token}`, 'limit=5', 'action_filter=user_login')).audit_trail,
    );
    expect(second.page_number).toBe(2);
    expect(back.audit_trail).toEqual(first.audit_trail);
  });
});
