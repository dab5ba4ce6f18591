import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validate } from '@hyperjump/json-schema/openapi-3-1';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROUTES } from '../../lambdas/routes.js';
import { registerKoreApp } from '../../lambdas/use-cases/manage-kore-apps.js';
import { demoEvents } from '../../local/demo-data.js';
import document from '../../openapi/openapi.json' with { type: 'json' };
import { koreJwt } from '../helpers/kore-jwt.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/**
 * openapi/openapi.json checked by tools other than this repository's own validator: Redocly's
 * linter (every recommended rule, warnings included) and the OpenAPI 3.1 schema (hyperjump), and
 * real answers of every route × method × credential situation validated independently — status
 * and headers by walking the document here, bodies by hyperjump's OpenAPI 3.1 dialect (not ajv).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Json = Record<string, unknown>;
const doc = document as unknown as Json & { paths: Record<string, Record<string, Json>> };

/** The JSON pointer of `value` after following `$ref`s from `at`. */
const resolved = (at: string[]): { at: string[]; value: Json } => {
  let value: unknown = doc;
  for (const part of at) value = (value as Json)[part];
  const ref = (value as Json).$ref;
  if (typeof ref === 'string') return resolved(ref.replace(/^#\//, '').split('/'));
  return { at, value: value as Json };
};
const pointer = (at: string[]) => at.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

const templates = Object.keys(doc.paths).map((template) => ({
  template,
  regex: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}/?$`),
}));

/** A body to validate with hyperjump: the schema's JSON pointer in the document, the value. */
interface BodyCheck {
  operation: string;
  pointer: string;
  instance: unknown;
}

/** Runs hyperjump in a plain Node process (see test/helpers/hyperjump-validate.mjs). */
const validateBodies = async (checks: BodyCheck[]): Promise<string[]> => {
  const child = execFile(process.execPath, [`${ROOT}test/helpers/hyperjump-validate.mjs`], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = new Promise<string>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`hyperjump exited ${code}: ${stderr.slice(0, 2000)}`)),
    );
  });
  child.stdin?.end(JSON.stringify(checks.map(({ pointer, instance }) => ({ pointer, instance }))));
  const results = JSON.parse(await output) as { valid: boolean; errors: unknown[] }[];
  return results.flatMap((result, index) =>
    result.valid
      ? []
      : [`${checks[index]?.operation}: body does not match: ${JSON.stringify(result.errors).slice(0, 400)}`],
  );
};

/**
 * The problems of one real answer, checked against the document independently of request():
 * documented status (or fallback), required headers; a JSON body is queued for hyperjump.
 */
const problemsOf = (
  method: string,
  path: string,
  response: Response,
  text: string,
  bodies: BodyCheck[],
): { operation: string; problems: string[] } => {
  const problems: string[] = [];
  const template = templates.find(({ regex }) => regex.test(path))?.template;
  const lower = method.toLowerCase();
  let at: string[];
  if (template === undefined) at = ['x-fallback-responses', '404'];
  else if (!doc.paths[template]?.[lower]) at = ['x-fallback-responses', '405'];
  else at = ['paths', template, lower, 'responses', String(response.status)];
  const operation = `${method} ${template ?? '(fallback)'} ${response.status}`;
  if (at[0] === 'x-fallback-responses' && at[1] !== String(response.status))
    return { operation, problems: [`${operation}: not documented`] };
  let documented: { at: string[]; value: Json };
  try {
    documented = resolved(at);
  } catch {
    return { operation, problems: [`${operation}: not documented`] };
  }
  for (const name of Object.keys((documented.value.headers ?? {}) as Json)) {
    const { value } = resolved([...documented.at, 'headers', name]);
    if (value.required === true && !response.headers.has(name))
      problems.push(`${operation}: required header ${name} missing`);
  }
  const content = documented.value.content as Record<string, Json> | undefined;
  const type = response.headers.get('content-type') ?? '';
  if (method === 'HEAD' || !content) {
    if (text.length > 0) problems.push(`${operation}: a body where none is documented`);
  } else if (type.includes('json')) {
    if (!content['application/json']) problems.push(`${operation}: JSON not documented`);
    else
      bodies.push({
        operation,
        pointer: `/${pointer([...documented.at, 'content', 'application/json', 'schema'])}`,
        instance: JSON.parse(text) as unknown,
      });
  } else if (!Object.keys(content).some((documentedType) => type.startsWith(documentedType))) {
    problems.push(`${operation}: content type ${type} not documented`);
  }
  return { operation, problems };
};

describe('openapi/openapi.json, checked by independent tools', () => {
  it('passes Redocly lint: every recommended rule, no error and no warning', async () => {
    // Act
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`${ROOT}node_modules/@redocly/cli/bin/cli.js`, 'lint', 'openapi/openapi.json', '--format=json'],
      {
        cwd: ROOT,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );

    // Assess
    const report = JSON.parse(stdout) as { totals: Json; problems: { ruleId: string; message: string }[] };
    expect(report.problems.map((problem) => `${problem.ruleId}: ${problem.message}`)).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  }, 60_000);

  it('is a valid OpenAPI 3.1 document (the specification schema, hyperjump)', async () => {
    // Act
    const output = await validate('https://spec.openapis.org/oas/3.1/schema-base', doc as never, 'BASIC');

    // Assess
    expect(output).toEqual({ valid: true });
  });

  describe('real answers of every route', () => {
    let service: TestService;
    let admin: string;
    let readOnly: string;
    let downloadOnly: string;
    let jwt: string;
    let jwtWithoutRead: string;

    beforeAll(async () => {
      service = await startTestService();
      admin = await service.token('walk', ['admin']);
      readOnly = await service.token('walk', ['read']);
      downloadOnly = await service.token('walk', ['download']);
      const reader = await registerKoreApp(
        service.services.koreApps,
        { tenant: 'walk', scopes: ['read'] },
        service.services.tenants,
      );
      const other = await registerKoreApp(
        service.services.koreApps,
        {
          tenant: 'walk',
          scopes: ['download'],
        },
        service.services.tenants,
      );
      jwt = await koreJwt(reader.appId, reader.clientSecret);
      jwtWithoutRead = await koreJwt(other.appId, other.clientSecret);
      await service.services.events.append(
        'walk',
        demoEvents({ count: 40, days: 1, now: Date.UTC(2026, 10, 1) }),
      );
    });
    afterAll(async () => service.stop());

    it('are each documented: status, required headers, body (hyperjump), for every path and method', async () => {
      // Prepare: each route under each method it answers and one it does not, with good, missing,
      // insufficient and malformed input.
      const requests: { method: string; path: string; headers?: Record<string, string>; body?: string }[] =
        [];
      for (const route of ROUTES) {
        const path = route.path.replace('{job}', 'pj-404').replace('{key}', 'nothing');
        const kore = route.path.startsWith('/api/public/');
        const good: Record<string, string> = kore ? { auth: jwt } : { 'x-api-key': admin };
        const weak: Record<string, string> = kore
          ? { auth: jwtWithoutRead }
          : {
              'x-api-key':
                route.handler.startsWith('canary-fetch') || route.handler.startsWith('api-key')
                  ? downloadOnly
                  : readOnly,
            };
        const body: { headers?: Record<string, string>; body?: string } =
          route.method === 'POST'
            ? route.handler === 'purge'
              ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'id=0' }
              : {
                  headers: { 'content-type': 'application/json' },
                  body: '{"events":[{"action_type":"walk"}]}',
                }
            : {};
        for (const headers of [good, weak, {}, { ...good, 'content-type': 'text/plain' }]) {
          requests.push({
            method: route.method,
            path,
            headers: { ...body.headers, ...headers },
            ...(body.body ? { body: body.body } : {}),
          });
        }
        requests.push({
          method: route.method,
          path: `${path}?limit=0005&size=0&page%5Bsize%5D=01&offset=x`,
          headers: good,
        });
        if (route.method === 'GET') requests.push({ method: 'HEAD', path, headers: good });
        requests.push({ method: 'OPTIONS', path });
        requests.push({ method: route.method === 'GET' ? 'DELETE' : 'PUT', path, headers: good });
      }
      requests.push(
        { method: 'GET', path: '/api/v1/nowhere' },
        { method: 'GET', path: '/api/public/nowhere' },
      );

      // Act
      const checked = [];
      const bodies: BodyCheck[] = [];
      for (const request of requests) {
        const response = await fetch(new URL(request.path, service.url), {
          method: request.method,
          headers: request.headers ?? {},
          redirect: 'manual',
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        const path = new URL(request.path, service.url).pathname;
        checked.push(problemsOf(request.method, path, response, await response.text(), bodies));
      }

      // Assess
      expect(checked.flatMap(({ problems }) => problems)).toEqual([]);
      expect(bodies.length).toBeGreaterThan(50);
      expect(await validateBodies(bodies)).toEqual([]);
      const exercised = new Set(checked.map(({ operation }) => operation.split(' ').slice(0, 2).join(' ')));
      const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(documented.filter((operation) => !exercised.has(operation))).toEqual([]);
      // A fair spread of statuses, not only the happy path.
      const statuses = new Set(checked.map(({ operation }) => operation.split(' ')[2]));
      expect([...statuses].sort()).toEqual(
        expect.arrayContaining(['200', '201', '204', '400', '401', '403', '404', '405', '415']),
      );
    }, 120_000);
  });
});
