import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SELF_AUDIT_CATEGORY } from '../../lambdas/http/self-audit.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { bulkWrite } from '../../local/bulk-write.js';
import { demoEvents } from '../../local/demo-data.js';
import { apiRequestEvents } from '../helpers/api-request-events.js';
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';
import { checkResponse } from '../helpers/openapi-validator.js';

// Asynchronous on purpose: the service answers from this very process.
const run = promisify(execFile);

/** Seed 002's sample request, verbatim but for the host (and http on loopback). */
const KORE_SAMPLE = `curl --location --request GET \\
'https://{{host}}/api/public/auditlogs?size=50&offset=0&fromDate=2021-07-07T11:11:18.464Z&toDate=2021-06-30T11:11:18.469Z' \\
--header 'auth: YOUR_JWT_ACCESS_TOKEN' \\
--header 'Content-Type: application/json' \\
`;

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

/** Runs a shell command line whose output ends with a line "<status> <content type>". */
const shell = async (command: string): Promise<Answer> => {
  const { stdout } = await run('bash', ['-c', command], { maxBuffer: 64 * 1024 * 1024 });
  const newline = stdout.lastIndexOf('\n');
  const [status, contentType = ''] = stdout.slice(newline + 1).split(' ');
  return { status: Number(status), contentType, body: JSON.parse(stdout.slice(0, newline)) };
};

/** Runs Python `requests` code that leaves its response in `r`. */
const python = async (code: string): Promise<Answer> => {
  const { stdout } = await run(
    'python3',
    [
      '-c',
      `import json, requests\n${code}\nprint(json.dumps({"status": r.status_code, "contentType": r.headers.get("content-type", ""), "body": r.json()}))`,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Answer;
};

const WRITE_OUT = `--silent --show-error --write-out '\\n%{http_code} %{content_type}'`;

describe("the seeds' sample requests, with curl and Python requests", () => {
  let service: TestService;
  let host: string;
  let jwt: string;
  let apiKey: string;
  let bigKey: string;
  /** The ids of samples-big's 4000 seeded entries, oldest first. */
  let bigIds: string[];

  /** Checks an answer against the OpenAPI description, as test requests through fetch are. */
  const documented = (path: string, answer: Answer) => {
    expect(checkResponse('GET', path, answer.status, answer.contentType, answer.body)).toBeUndefined();
    return answer;
  };

  beforeAll(async () => {
    service = await startTestService();
    host = new URL(service.url).host;
    const app = await registerKoreApp(
      service.services.koreApps,
      { tenant: 'samples', scopes: ['read'] },
      service.services.tenants,
    );
    jwt = await koreJwt(app.appId, app.clientSecret);
    apiKey = await service.token('samples', ['read']);
    bigKey = await service.token('samples-big', ['read']);
    const drafts = [
      ...demoEvents({ count: 300, days: 9, now: Date.UTC(2021, 6, 8), seed: 21 }),
      ...apiRequestEvents({ count: 300, days: 40, now: Date.UTC(2023, 11, 5), seed: 22 }),
    ];
    for (let start = 0; start < drafts.length; start += 100)
      await service.services.events.append('samples', drafts.slice(start, start + 100));
    const { EVENTS_TABLE: eventsTable } = service.services.config;
    const big = await bulkWrite(
      service.services.doc,
      { eventsTable },
      'samples-big',
      apiRequestEvents({ count: 4000, days: 2, now: Date.UTC(2023, 10, 20), seed: 23 }),
    );
    // Totals and deep pages read the rollup counters, which the stream consumer derives.
    await service.settle();
    bigIds = big.map((record) => String(record.id)).sort((a, b) => Number(a) - Number(b));
  });
  afterAll(async () => service.stop());

  describe('kore (seed 002): fromDate later than toDate', () => {
    it('works verbatim with curl', async () => {
      // Prepare
      const command = KORE_SAMPLE.replace('https://{{host}}', `http://${host}`)
        .replace('YOUR_JWT_ACCESS_TOKEN', jwt)
        .replace(/\\\n$/, WRITE_OUT);

      // Act
      const answer = documented('/api/public/auditlogs', await shell(command));

      // Assess
      expect(answer.status).toBe(200);
      const body = answer.body as {
        total: number;
        auditlogs: { timestampValue: number }[];
        moreAvailable: boolean;
      };
      expect(body.total).toBeGreaterThan(50);
      expect(body.auditlogs).toHaveLength(50);
      expect(body.moreAvailable).toBe(true);
      const times = body.auditlogs.map((entry) => entry.timestampValue);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times[0]).toBeGreaterThanOrEqual(Date.parse('2021-06-30T11:11:18.469Z'));
    });

    it('works with Python requests, and agrees with curl', async () => {
      // Act
      const answer = await python(
        `r = requests.get("http://${host}/api/public/auditlogs?size=50&offset=0&fromDate=2021-07-07T11:11:18.464Z&toDate=2021-06-30T11:11:18.469Z", headers={"auth": "${jwt}", "Content-Type": "application/json"})`,
      );
      const viaFetch = await service.get(
        '/api/public/auditlogs',
        { size: '50', offset: '0', fromDate: '2021-07-07T11:11:18.464Z', toDate: '2021-06-30T11:11:18.469Z' },
        { auth: jwt },
      );

      // Assess
      documented('/api/public/auditlogs', answer);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(viaFetch.body);
    });
  });

  describe("api-key (seed 003): the links.self example's query", () => {
    const query = 'filter[startDate]=2023-11-01&filter[endDate]=2023-12-01&page[size]=12000';

    it('works with curl (--globoff keeps the brackets literal)', async () => {
      // Act
      const answer = documented(
        '/api/v1/audit-trail',
        await shell(
          `curl --globoff 'http://${host}/api/v1/audit-trail?${query}' --header 'x-api-key: ${apiKey}' ${WRITE_OUT}`,
        ),
      );

      // Assess
      expect(answer.status).toBe(200);
      const body = answer.body as { data: { createdAt: string }[]; links: { self: string; next: null } };
      expect(body.data.length).toBeGreaterThan(200);
      expect(body.links).toEqual({ self: `/api/v1/audit-trail?${query}`, next: null });
    });

    it('works with Python requests params', async () => {
      // Act
      const answer = await python(
        `r = requests.get("http://${host}/api/v1/audit-trail", params={"filter[startDate]": "2023-11-01", "filter[endDate]": "2023-12-01", "page[size]": 12000}, headers={"x-api-key": "${apiKey}"})`,
      );

      // Assess
      documented('/api/v1/audit-trail', answer);
      expect(answer.status).toBe(200);
      expect((answer.body as { data: unknown[] }).data.length).toBeGreaterThan(200);
    });

    it('follows the 303 of an over-1 MB page with curl -L and with requests', async () => {
      // Act
      const viaCurl = await shell(
        `curl --location --globoff 'http://${host}/api/v1/audit-trail?allowRedirect=true' --header 'x-api-key: ${bigKey}' ${WRITE_OUT}`,
      );
      const viaRequests = await python(
        `r = requests.get("http://${host}/api/v1/audit-trail", params={"allowRedirect": "true"}, headers={"x-api-key": "${bigKey}"})`,
      );
      const refused = await python(
        `r = requests.get("http://${host}/api/v1/audit-trail", headers={"x-api-key": "${bigKey}"})`,
      );

      // Assess
      type Entry = { id: string; uri?: string; method?: string; meta: { status?: string; service?: string } };
      const curlData = (viaCurl.body as { data: Entry[] }).data;
      const requestsData = (viaRequests.body as { data: Entry[] }).data;
      expect(viaCurl.status).toBe(200);
      expect(curlData.map((entry) => entry.id)).toEqual(bigIds);
      // Every entry is listed, so requests also sees the service's own record of curl's 303 call.
      expect(viaRequests.status).toBe(200);
      expect(requestsData).toHaveLength(4001);
      expect(requestsData.slice(0, 4000).map((entry) => entry.id)).toEqual(bigIds);
      expect(requestsData[4000]).toMatchObject({
        uri: '/api/v1/audit-trail',
        method: 'GET',
        meta: { status: '303', service: SELF_AUDIT_CATEGORY },
      });
      documented('/api/v1/audit-trail', refused);
      expect(refused.status).toBe(413);
      expect(refused.body).toEqual({
        message: 'Response size is greater than 1MB',
        name: 'PayloadTooLarge',
        status: 413,
      });
    });

    it('answers a bad key with the seed 401 body', async () => {
      // Act
      const answer = await python(
        `r = requests.get("http://${host}/api/v1/audit-trail", headers={"x-api-key": "not-a-key"})`,
      );

      // Assess
      documented('/api/v1/audit-trail', answer);
      expect(answer.body).toEqual({ message: 'Invalid token', name: 'Unauthorized', status: 401 });
    });
  });
});
