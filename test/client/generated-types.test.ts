import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_SPEC, GENERATED_FILE, generateTypes } from '../../packages/client/scripts/generate.js';

describe('Script: packages/client/scripts/generate.ts', () => {
  it('committed client types are what openapi/openapi.json generates (run `npm run client:generate`)', async () => {
    // Act
    const generated = await generateTypes(readFileSync(DEFAULT_SPEC, 'utf8'));

    // Assess
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(generated);
  });

  it('notices a change of the description', async () => {
    // Prepare
    const spec = JSON.parse(readFileSync(DEFAULT_SPEC, 'utf8')) as { info: { title: string } };
    spec.info.title = 'Changed';
    const paths = spec as unknown as { paths: Record<string, unknown> };
    paths.paths['/api/v1/new-endpoint'] = { get: { responses: { '200': { description: 'ok' } } } };

    // Act
    const generated = await generateTypes(JSON.stringify(spec));

    // Assess
    expect(generated).toContain('/api/v1/new-endpoint');
    expect(readFileSync(GENERATED_FILE, 'utf8')).not.toBe(generated);
  });
});
