import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import { handlerBuildOptions, handlerNames, ROOT } from '../../lib/bundling.js';
import { needsOf } from '../../lib/function-needs.js';

/**
 * The reviewed grants (lib/function-needs.ts) and the code agree: a handler holds the cursor-key
 * secret, an S3 grant or an invoke grant exactly when its bundle holds code of the part of the
 * composition root that uses it. A new dependency without a grant fails here, before a deploy
 * fails at run time; a grant the code no longer uses fails here too.
 */
const sourcesOf = async (name: string): Promise<Set<string>> => {
  const { metafile } = await build({
    ...handlerBuildOptions(name, join(ROOT, '.local', 'unused.mjs')),
    minify: false,
    sourcemap: false,
    write: false,
    metafile: true,
  });
  // The bundle's inputs that left code in it (tree shaking drops the rest).
  const inputs = Object.values(metafile?.outputs ?? {})[0]?.inputs ?? {};
  return new Set(
    Object.entries(inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => relative(ROOT, join(ROOT, path))),
  );
};

describe('function needs match the code', () => {
  it.each(handlerNames())(
    '%s is granted exactly the secret, buckets and invocations its code uses',
    async (name) => {
      // Prepare
      const needs = needsOf(name);

      // Act
      const sources = await sourcesOf(name);

      // Assess
      expect({
        cursorKey: sources.has('lambdas/cursor-key.ts'),
        s3: sources.has('lambdas/object-services.ts'),
        launchesJobs: sources.has('lambdas/job-services.ts'),
      }).toEqual({
        cursorKey: needs.cursorKey === true,
        s3: needs.exports !== undefined || needs.archive !== undefined,
        launchesJobs: (needs.invokes ?? []).length > 0,
      });
    },
  );
});
