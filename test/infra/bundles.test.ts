import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { build } from 'esbuild';
import { SELF_AUDIT_MARKER } from '../../lambdas/domain/self-audit-line.js';
import { BUNDLING, handlerBuildOptions, handlerNames, ROOT } from '../../lib/bundling.js';
import { writeConsoleAssetsSync } from '../../lib/console-bundle.js';
import { captureLogs } from '../helpers/logs.js';

/**
 * The deployed bundles (esbuild with the construct's options: minified ESM, `require` shim, SDK
 * bundled, unused credential providers left out) load and answer in plain Node, outside the
 * TypeScript toolchain the other tests run in.
 */
const OUT = join(ROOT, '.local', `test-bundles-${process.pid}`);

const bundle = async (name: string): Promise<string> => {
  const outfile = join(OUT, name, 'index.mjs');
  await build(handlerBuildOptions(name, outfile));
  return pathToFileURL(outfile).href;
};

const saved = { ...process.env };

beforeAll(() => {
  mkdirSync(OUT, { recursive: true });
  // What the construct sets; nothing here reaches AWS.
  Object.assign(process.env, {
    EVENTS_TABLE: 'bundle-test-events',
    CONTROL_TABLE: 'bundle-test-control',
    CURSOR_KEY: randomBytes(32).toString('base64'),
    AWS_REGION: 'us-east-1',
    JOB_LAUNCHER: 'lambda',
  });
});

afterAll(() => {
  process.env = saved;
  rmSync(OUT, { recursive: true, force: true });
});

/**
 * The source files with code in `name`'s bundle, as deployed (a module that is imported but
 * tree-shaken away entirely is not counted: it ships nothing).
 */
const inputsOf = async (name: string): Promise<string[]> => {
  const { metafile } = await build({
    ...handlerBuildOptions(name, join(OUT, `meta-${name}`, 'index.mjs')),
    metafile: true,
  });
  const output = Object.values(metafile?.outputs ?? {}).find((file) => file.entryPoint !== undefined);
  return Object.entries(output?.inputs ?? {})
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
};

describe('deployed bundles', () => {
  it('holds jose only in the functions that see kore JWTs (the kore endpoint and the authorizer)', async () => {
    // Prepare
    const usesJose = async (name: string) =>
      (await inputsOf(name)).some((input) => input.includes('node_modules/jose/'));

    // Act
    const names = ['kore-auditlogs', 'authorizer', 'canary-fetch', 'download-json', 'export-worker'];
    const answers = await Promise.all(names.map(async (name) => [name, await usesJose(name)] as const));

    // Assess
    expect(Object.fromEntries(answers)).toEqual({
      'kore-auditlogs': true,
      authorizer: true,
      'canary-fetch': false,
      'download-json': false,
      'export-worker': false,
    });
  });

  it('leaves the presigner out of the purge functions, and a zip library out of every export', async () => {
    // Prepare: whether each function holds the presigner and yazl.
    const holds = async (name: string) => {
      const inputs = await inputsOf(name);
      const has = (path: string) => inputs.some((input) => input.includes(path));
      return {
        presigner: has('node_modules/@aws-sdk/s3-request-presigner/'),
        yazl: has('node_modules/yazl/'),
      };
    };

    // Act
    const names = ['purge', 'purge-worker', 'purge-scheduler', 'archives-get', 'download-json'];
    const answers = await Promise.all(names.map(async (name) => [name, await holds(name)] as const));

    // Assess: archive links (with the presigner) are apart from the archive store the purge
    // writes through; the single-worker export writes its zip with lambdas/domain/zip-format.ts.
    const none = { presigner: false, yazl: false };
    expect(Object.fromEntries(answers)).toEqual({
      purge: none,
      'purge-worker': none,
      'purge-scheduler': none,
      'archives-get': { ...none, presigner: true },
      'download-json': { ...none, presigner: true },
    });
  });

  it('imports the modules it leaves out only lazily, in every function (no bundle fails to load for one)', async () => {
    // Prepare: every function's bundle, as deployed, in memory.
    const staticImports: string[] = [];
    const lazyImports = new Set<string>();
    for (const name of handlerNames()) {
      const { outputFiles } = await build({
        ...handlerBuildOptions(name, join(OUT, `lazy-${name}`, 'index.mjs')),
        sourcemap: false,
        write: false,
      });
      const code = outputFiles?.find((file) => file.path.endsWith('.mjs'))?.text ?? '';
      expect(code.length).toBeGreaterThan(0);

      // Act: every place the bundle names a left-out module.
      for (const external of BUNDLING.externalModules) {
        const quoted = `"${external}"`;
        for (let at = code.indexOf(quoted); at >= 0; at = code.indexOf(quoted, at + 1)) {
          if (code.slice(Math.max(0, at - 7), at) === 'import(') lazyImports.add(external);
          else staticImports.push(`${name}: ${code.slice(Math.max(0, at - 40), at + quoted.length)}`);
        }
      }
    }

    // Assess: a static import would fail the function's load in Lambda, where they are absent.
    expect(staticImports).toEqual([]);
    // The check sees the lazy imports it is about (the SDK still holds them). (It is what showed
    // that the event-stream codec cannot be left out: the S3 client imports it statically.)
    expect(lazyImports).toContain('@aws-sdk/credential-provider-sso');
    expect(lazyImports).toContain('@aws-sdk/credential-provider-ini');
  }, 120_000);

  it('answers an unknown path with a 404 in the canary error shape from the bundled fallback', async () => {
    // Prepare
    const { handler } = (await import(await bundle('not-found'))) as {
      handler: (event: Partial<APIGatewayProxyEvent>, context: object) => Promise<APIGatewayProxyResult>;
    };
    // Act
    const logs = captureLogs();
    const lines: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (String(chunk).includes(SELF_AUDIT_MARKER)) {
        lines.push(String(chunk));
        return true;
      }
      return write.call(process.stdout, chunk, ...rest);
    }) as typeof process.stdout.write;
    let response: APIGatewayProxyResult;
    try {
      response = await handler(
        { path: '/api/v1/audit_trail/nope', httpMethod: 'GET', headers: {} },
        { awsRequestId: 'req-bundle' },
      );
    } finally {
      process.stdout.write = write;
      logs.restore();
    }
    // Assess: the call's self-audit record is one log line on stdout (what the log subscription
    // delivers to store-self-audit), handed over without reaching AWS; nothing failed.
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ result: 'error' });
    expect(logs.entries().filter((entry) => entry.level === 'error')).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      selfAudit: SELF_AUDIT_MARKER,
      key: 'req-bundle',
      tenant: '#unauthenticated',
      draft: { action_type: 'api_request', request: { uri: '/api/v1/audit_trail/nope', status: 404 } },
    });
  });

  it('builds the AWS clients from the bundled SDK and lets an anonymous request through the authorizer', async () => {
    // Prepare
    const { handler } = (await import(await bundle('authorizer'))) as {
      handler: (event: Partial<APIGatewayRequestAuthorizerEvent>) => Promise<{
        principalId: string;
        context: Record<string, string>;
        policyDocument: { Statement: { Effect: string }[] };
      }>;
    };
    // Act
    const result = await handler({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:123456789012:api/v1/GET/api/v1/audit_trail/fetch',
      headers: {},
      queryStringParameters: {},
    });
    // Assess
    expect(result.principalId).toBe('anonymous');
    expect(result.context).toEqual({ authenticated: 'false' });
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Allow');
  });

  it('serves the console page and its browser code from the bundle, as the construct lays them out', async () => {
    // Prepare: the construct's bundling hook writes the browser bundle to console/ beside index.mjs.
    const url = await bundle('console');
    writeConsoleAssetsSync(join(OUT, 'console', 'console'));
    const { handler } = (await import(url)) as {
      handler: (event: Partial<APIGatewayProxyEvent>, context: object) => Promise<APIGatewayProxyResult>;
    };
    const stage = { path: '/v1/console' } as APIGatewayProxyEvent['requestContext'];
    // Act
    const page = await handler(
      { path: '/console', httpMethod: 'GET', headers: {}, requestContext: stage },
      {},
    );
    const script = await handler(
      { path: '/console/app.js', httpMethod: 'GET', headers: {}, pathParameters: { asset: 'app.js' } },
      {},
    );
    // Assess
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-security-policy']).toContain("default-src 'self'");
    // Behind the stage prefix, the page loads its code from under the same prefix.
    expect(page.body).toMatch(
      /<script type="module" src="\/v1\/console\/app\.js\?v=[\w-]+\.[\w-]+"><\/script>/,
    );
    expect(script.statusCode).toBe(200);
    expect(script.headers?.['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body.length).toBeGreaterThan(1000);
  });
});
