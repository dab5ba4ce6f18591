import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

/**
 * The layers of lambdas/ (docs/architecture.md) and what each may import. Dependencies point
 * inward: domain ← ports ← use-cases ← adapters / http ← handlers ← composition (the root wires
 * adapters into handlers). Checked on the import statements of every source file.
 */
const LAMBDAS = resolve(dirname(fileURLToPath(import.meta.url)), '../../lambdas');

type Layer = 'domain' | 'ports' | 'use-cases' | 'adapters' | 'http' | 'handlers' | 'composition' | 'root';

/** The layers (of lambdas/) a file of each layer may import. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  domain: ['domain'],
  ports: ['domain', 'ports'],
  'use-cases': ['domain', 'ports', 'use-cases'],
  adapters: ['domain', 'ports', 'adapters'],
  // The HTTP layer calls use cases and writes logs (adapters/log.ts); it never builds adapters.
  http: ['domain', 'ports', 'use-cases', 'http', 'adapters', 'root'],
  handlers: ['domain', 'ports', 'use-cases', 'http', 'adapters', 'composition', 'root'],
  composition: ['domain', 'ports', 'use-cases', 'adapters', 'http', 'composition'],
  // routes.ts and console-assets.ts: tables and hooks the handlers and the local stack share.
  root: ['domain', 'http', 'root'],
};

/** Packages that talk to AWS or to Lambda: never in the core (domain, ports, use cases). */
const AWS_PACKAGE = /^(@aws-sdk\/|@smithy\/|@middy\/|aws-lambda$)/;

const filesOf = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesOf(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );

const layerOf = (file: string): Layer => {
  const [first, second] = relative(LAMBDAS, file).split('/');
  return second === undefined ? 'root' : (first as Layer);
};

const importsOf = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map(
    (match) => match[1] ?? '',
  );

const FILES = filesOf(LAMBDAS);

describe('import direction', () => {
  it('knows every folder of lambdas/ as a layer', () => {
    // Assess
    const layers = new Set(FILES.map(layerOf));
    expect([...layers].filter((layer) => !(layer in MAY_IMPORT))).toEqual([]);
  });

  it('has every file import only the layers its own may depend on', () => {
    // Act
    const violations = FILES.flatMap((file) => {
      const layer = layerOf(file);
      return importsOf(file)
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => resolve(dirname(file), specifier))
        .filter((target) => target.startsWith(`${LAMBDAS}/`))
        .filter((target) => !MAY_IMPORT[layer].includes(layerOf(target)))
        .map((target) => `${relative(LAMBDAS, file)} → ${relative(LAMBDAS, target)}`);
    });

    // Assess
    expect(violations).toEqual([]);
  });

  it('keeps AWS and Lambda packages out of the domain, the ports and the use cases', () => {
    // Act
    const violations = FILES.filter((file) =>
      ['domain', 'ports', 'use-cases'].includes(layerOf(file)),
    ).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => AWS_PACKAGE.test(specifier))
        .map((specifier) => `${relative(LAMBDAS, file)} → ${specifier}`),
    );

    // Assess
    expect(violations).toEqual([]);
  });

  it('lets the HTTP layer and handlers use only the log of the adapters, never build one', () => {
    // Act
    const violations = FILES.filter((file) => ['http', 'handlers'].includes(layerOf(file))).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => specifier.includes('/adapters/') && !specifier.endsWith('/adapters/log.js'))
        .map((specifier) => `${relative(LAMBDAS, file)} → ${specifier}`),
    );

    // Assess
    expect(violations).toEqual([]);
  });

  it('reads the environment only in the composition root (and the log level in the log)', () => {
    // Act
    const readers = FILES.filter((file) => readFileSync(file, 'utf8').includes('process.env')).map((file) =>
      relative(LAMBDAS, file),
    );

    // Assess: the console page's own settings (CSP origins) are read by its handler.
    expect(readers.sort()).toEqual(['adapters/log.ts', 'composition/environment.ts', 'handlers/console.ts']);
  });
});
