import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * A real headless browser for the console tests: Debian's `chromium` package driven by
 * playwright-core (no browser download: `.ci/run` installs the package when it is missing).
 */
export const CHROMIUM = '/usr/bin/chromium';

/** Where tests save screenshots (git-ignored, under .local/). */
export const SCREENSHOTS = join(process.cwd(), '.local', 'screenshots');

/** True when the browser tests were asked to skip (and say so); they never skip silently. */
export const browserTestsSkipped = (): boolean => process.env.AUDIT_TRAIL_SKIP_BROWSER === '1';

/** A fresh browser profile; `close()` ends the browser and deletes the profile. */
export const launchBrowser = async (): Promise<{ context: BrowserContext; close: () => Promise<void> }> => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The console's browser tests need Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` ` +
        '(.ci/run does), or set AUDIT_TRAIL_SKIP_BROWSER=1 to skip them.',
    );
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'audit-trail-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
};
