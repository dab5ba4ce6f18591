import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { handlerBuildOptions, handlerNames, ROOT } from '../../lib/bundling.js';
import { needsOf } from '../../lib/function-needs.js';

/**
 * The reviewed grants (lib/function-needs.ts) and the code agree: a function holds the cursor-key
 * secret, a bucket grant or an invoke grant exactly when its bundle holds the code that uses it.
 * A new dependency without a grant fails here, before a deploy fails at run time; a grant the
 * code no longer uses fails here too.
 */
const bundledCode = async (name: string): Promise<string> => {
  const { outputFiles } = await build({
    ...handlerBuildOptions(name, join(ROOT, '.local', 'unused.mjs')),
    // Unminified, so the adapters keep their names (`var Name = class`) (tree shaking still drops what is unused).
    minify: false,
    sourcemap: false,
    write: false,
  });
  return outputFiles?.[0]?.text ?? '';
};

describe('function needs match the code', () => {
  it.each(handlerNames())(
    '%s is granted exactly the secret, buckets, invocations and executions its code uses',
    async (name) => {
      // Prepare
      const needs = needsOf(name);

      // Act
      const code = await bundledCode(name);

      // Assess
      expect({
        cursorKey: /\bvar readCursorKey\d* = /.test(code),
        archiveBucket: /\bvar (S3ArchiveStore|S3ArchiveLinks)\d* = class\b/.test(code),
        exportsBucket:
          /\bvar (S3ExportStore|S3ExportLinks|S3ExportPartStore|S3LargeResponseStore)\d* = class\b/.test(
            code,
          ),
        launchesJobs: /\bvar LambdaJobLauncher\d* = class\b/.test(code),
        startsExports: /\bvar StepFunctionsExportLauncher\d* = class\b/.test(code),
      }).toEqual({
        cursorKey: needs.cursorKey === true,
        archiveBucket: needs.archive !== undefined,
        exportsBucket: needs.exports !== undefined,
        launchesJobs: (needs.invokes ?? []).length > 0,
        startsExports: needs.startsExports === true,
      });
    },
  );
});

describe('least privilege for the endpoints that only read', () => {
  // Their own call records go through their logs (the store-self-audit function stores them), so
  // a stolen role of a reading endpoint can change nothing in either table.
  it.each([
    'canary-fetch',
    'kore-auditlogs',
    'api-key-audit-trail',
    'tlog',
    'archives-list',
    'archives-get',
    'purge-status',
    'not-found',
  ])('%s reads the tables and still records its calls', (name) => {
    const needs = needsOf(name);
    expect({ name, events: needs.events, control: needs.control }).toEqual({
      name,
      events: name === 'not-found' ? undefined : 'read',
      control: 'read',
    });
    expect(needs.recordsCalls).toBe(true);
  });
});
