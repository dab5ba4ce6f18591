#!/usr/bin/env node
// The `audit-trail` command. Runs the built JavaScript (dist/, made by `npm run build` and shipped in
// the published package) when it is at least as new as the TypeScript source; otherwise — in a fresh
// clone of the service, where nothing is built — runs the source through tsx, a dependency of the
// repository. So `npx audit-trail …` works after `npm install` with no build step, and never runs a
// stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'dist', 'cli', 'main.js');
const source = join(root, 'src');

const newestSource = () => {
  let newest = 0;
  for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
    if (entry.isFile())
      newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
};

const useBuilt = existsSync(built) && (!existsSync(source) || statSync(built).mtimeMs >= newestSource());
if (useBuilt) {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  process.env.AUDIT_TRAIL_TSX = '1';
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
