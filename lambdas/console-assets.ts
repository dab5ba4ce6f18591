import { readFile } from 'node:fs/promises';

/** The console's browser code and styles, as built by esbuild (`lib/console-bundle.ts`). */
export interface ConsoleAssets {
  readonly 'app.js': Buffer;
  readonly 'app.css': Buffer;
}

export type ConsoleAssetName = keyof ConsoleAssets;
export const CONSOLE_ASSET_NAMES: readonly ConsoleAssetName[] = ['app.js', 'app.css'];

let load: () => Promise<ConsoleAssets> = async () => {
  // In Lambda the construct's bundling puts the built assets in `console/` beside this bundle.
  const dir = new URL('./console/', import.meta.url);
  const [script, style] = await Promise.all([
    readFile(new URL('app.js', dir)),
    readFile(new URL('app.css', dir)),
  ]);
  return { 'app.js': script, 'app.css': style };
};
let loaded: Promise<ConsoleAssets> | undefined;

/**
 * Installs how the console's assets are obtained. The local stack installs an esbuild build from
 * `console/src` here (built once, on first use), so no build step precedes `npm start`.
 */
export const installConsoleAssets = (loader: () => Promise<ConsoleAssets>): void => {
  load = loader;
  loaded = undefined;
};

/** The console's assets, loaded once per container. A failed load is retried on the next call. */
export const getConsoleAssets = (): Promise<ConsoleAssets> => {
  loaded ??= load().catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
};
