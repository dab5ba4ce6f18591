import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build, buildSync } from 'esbuild';
import type { ConsoleAssets } from '../lambdas/console-assets.js';
import { ROOT } from './bundling.js';

/**
 * The console's browser bundle: `console/src/main.tsx` (Preact, JSX compiled by esbuild) and
 * `console/src/styles.css`, minified. Built by the CDK construct while bundling the `console`
 * function, and in memory by the local stack on the first request for the console.
 */
export const CONSOLE_SOURCE = join(ROOT, 'console', 'src');

const options = (entry: string, outfile: string): BuildOptions => ({
  entryPoints: [join(CONSOLE_SOURCE, entry)],
  outfile,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'error',
  write: false,
});

const only = (files: { path: string; contents: Uint8Array }[] | undefined, suffix: string): Buffer => {
  const file = files?.find((candidate) => candidate.path.endsWith(suffix));
  if (!file) throw new Error(`the console build produced no ${suffix}`);
  return Buffer.from(file.contents);
};

/** Builds the console in memory. */
export const buildConsoleAssets = async (): Promise<ConsoleAssets> => {
  const [script, style] = await Promise.all([
    build(options('main.tsx', '/out/app.js')),
    build(options('styles.css', '/out/app.css')),
  ]);
  return { 'app.js': only(script.outputFiles, '.js'), 'app.css': only(style.outputFiles, '.css') };
};

/** Builds the console into `dir` (`app.js`, `app.css`), synchronously: for the CDK's bundling hook. */
export const writeConsoleAssetsSync = (dir: string): void => {
  mkdirSync(dir, { recursive: true });
  const script = buildSync(options('main.tsx', '/out/app.js'));
  const style = buildSync(options('styles.css', '/out/app.css'));
  writeFileSync(join(dir, 'app.js'), only(script.outputFiles, '.js'));
  writeFileSync(join(dir, 'app.css'), only(style.outputFiles, '.css'));
};
