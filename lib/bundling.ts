import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * What the CDK construct and `bench/bundles.ts` share about the Lambda bundles, kept free of CDK
 * imports so the bench loads fast.
 */

/** The repository root (this file lives in `lib/`). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the Lambda entry points live: one function per `.ts` file. */
export const HANDLERS_DIR = join(ROOT, 'lambdas', 'handlers');

/** The handler names (file names without `.ts`) found in `dir`, sorted. */
export const handlerNames = (dir: string = HANDLERS_DIR): string[] =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.test.ts'))
    .map((file) => file.slice(0, -'.ts'.length))
    .sort();

/**
 * esbuild options of every function. Every runtime dependency is ESM-only, hence ESM output with a
 * `require` shim for the few CommonJS modules inside the AWS SDK. The SDK is bundled rather than
 * taken from the runtime: a tree-shaken, minified bundle loads faster than the runtime's full
 * SDK and pins the version the tests ran against.
 */
export const BUNDLING = {
  target: 'node24',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  mainFields: ['module', 'main'],
  /**
   * Credential providers Lambda never reaches: the SDK's default chain takes the function's
   * credentials from the environment first, and only imports these (lazily) when that fails. (The
   * container-credentials provider stays in: it is small and some Lambda environments use it.)
   * Leaving them (and the STS/SSO clients they use) out cuts about 100 KB from every bundle; were
   * one ever needed, the import would fail loudly rather than silently use other credentials.
   */
  externalModules: [
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/credential-provider-login',
    '@aws-sdk/credential-provider-process',
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-web-identity',
    '@aws-sdk/nested-clients',
    '@aws-sdk/token-providers',
  ],
} as const;

/** Set on every function: stack traces in CloudWatch point at the TypeScript sources. */
export const NODE_OPTIONS = '--enable-source-maps';

/**
 * The esbuild options `NodejsFunction` derives from {@link BUNDLING}, for building a handler's
 * bundle outside CDK exactly as it is deployed (the bench and the bundle tests).
 */
export const handlerBuildOptions = (name: string, outfile: string): BuildOptions => ({
  entryPoints: [join(HANDLERS_DIR, `${name}.ts`)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: BUNDLING.target,
  minify: BUNDLING.minify,
  sourcemap: BUNDLING.sourceMap,
  sourcesContent: BUNDLING.sourcesContent,
  mainFields: [...BUNDLING.mainFields],
  banner: { js: BUNDLING.banner },
  external: [...BUNDLING.externalModules],
  logLevel: 'error',
});
