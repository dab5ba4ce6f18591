import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BrowserContext, Page } from 'playwright-core';
import type { EventDraft } from '../../lambdas/domain/record.js';
import { issueToken } from '../../lambdas/use-cases/manage-tokens.js';
import { demoEvents } from '../../local/demo-data.js';
import { browserTestsSkipped, launchBrowser, SCREENSHOTS } from '../helpers/browser.js';
import { startTestService, type TestService } from '../helpers/local-service.js';

/**
 * The console (`/console`) in a real headless Chromium: sign-in, filters, infinite scroll, an
 * entry's detail by keyboard, the download (202 → job → 303 → presigned GET, with progress), the
 * errors a person meets, the security headers, and the embed mode with an actor-narrowed token.
 */
const TENANT = 'console-co';
const ALICE = 'alice@example.com';

/** A page of the product that frames the console in embed mode and posts it a token. */
const hostPage = (consoleUrl: string, token: string, mode: 'message' | 'fragment'): string => {
  const script =
    mode === 'message'
      ? `const frame = document.querySelector('iframe');
         window.addEventListener('message', (event) => {
           if (event.origin !== ${JSON.stringify(new URL(consoleUrl).origin)}) return;
           if (event.data && event.data.type === 'audit-trail:ready')
             frame.contentWindow.postMessage({ type: 'audit-trail:token', token: ${JSON.stringify(token)} }, ${JSON.stringify(new URL(consoleUrl).origin)});
         });`
      : '';
  const src = mode === 'message' ? consoleUrl : `${consoleUrl}#token=${token}`;
  return `<!doctype html><html><head><title>Host product</title></head><body>
    <h1>Your account's activity</h1>
    <iframe title="Audit trail" src="${src}" style="width:1200px;height:640px;border:1px solid #ccc"></iframe>
    <script>${script}</script></body></html>`;
};

/** The page's document, as functions run in the browser see it (these tests compile without DOM types). */
interface PageDocument {
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  body: { textContent: string | null };
}

if (browserTestsSkipped()) {
  describe('Console in a browser', () => {
    it('is skipped because AUDIT_TRAIL_SKIP_BROWSER=1 (unset it to run the browser tests)', () => {
      // Assess: a visible, deliberate skip (never a silent one).
      process.stderr.write('Console browser tests skipped: AUDIT_TRAIL_SKIP_BROWSER=1\n');
      expect(process.env.AUDIT_TRAIL_SKIP_BROWSER).toBe('1');
    });
  });
} else {
  describe('Console in a browser', () => {
    let service: TestService;
    let browser: Awaited<ReturnType<typeof launchBrowser>>;
    let context: BrowserContext;
    let host: Server;
    let hostOrigin: string;
    let hostPages: Map<string, string>;
    let token: string;
    let drafts: EventDraft[];
    let cspViolations: string[];

    const saved = { ...process.env };

    beforeAll(async () => {
      // The framing product, on its own origin (another loopback port).
      hostPages = new Map();
      host = createServer((request, response) => {
        const page = hostPages.get(request.url ?? '');
        response.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
        response.end(page ?? 'not found');
      });
      await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
      hostOrigin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
      process.env.CONSOLE_FRAME_ANCESTORS = hostOrigin;
      // Every download becomes an export job: the console must follow 202 → job → 303 → S3.
      process.env.DOWNLOAD_REQUEST_BUDGET_MS = '0';
      service = await startTestService();
      token = await service.token(TENANT, ['read', 'download']);
      drafts = demoEvents({ count: 320, days: 4, now: Date.UTC(2026, 10, 20, 12) });
      drafts.push(
        ...Array.from({ length: 12 }, (_, index) => ({
          timestamp: Date.UTC(2026, 10, 18, 9, index),
          action_type: 'user_login',
          user: ALICE,
          message: `User ${ALICE} logged in`,
        })),
      );
      for (let start = 0; start < drafts.length; start += 100)
        await service.services.events.append(TENANT, drafts.slice(start, start + 100));
      browser = await launchBrowser();
      context = browser.context;
      cspViolations = [];
      context.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
    });

    afterAll(async () => {
      await browser?.close();
      await service?.stop();
      await new Promise((resolve) => host?.close(resolve));
      process.env = saved;
    });

    const signIn = async (page: Page, value = token) => {
      await page.goto(`${service.url}/console`);
      await page.getByLabel('API token').fill(value);
      await page.getByRole('button', { name: 'Sign in' }).click();
    };
    const rows = (page: Page) => page.locator('tbody tr');
    /** Waits until the table shows rows and every one has `value` in column `index` (1-based). */
    const waitForColumn = (page: Page, index: number, value: string) =>
      page.waitForFunction(
        ([column, expected]) => {
          const doc = (globalThis as unknown as { document: PageDocument }).document;
          const cells = Array.from(doc.querySelectorAll(`tbody tr td:nth-child(${column})`));
          return cells.length > 0 && cells.every((cell) => cell.textContent === expected);
        },
        [index, value] as const,
      );
    /** Scrolls the table until the console says the trail has ended. */
    const scrollToEnd = async (page: Page) => {
      const end = page.getByText('End of the trail.');
      for (let step = 0; step < 50 && !(await end.isVisible()); step += 1) {
        const shown = await rows(page).count();
        await page.locator('.sentinel').scrollIntoViewIfNeeded();
        await page.waitForFunction((before) => {
          const doc = (globalThis as unknown as { document: PageDocument }).document;
          return (
            doc.querySelectorAll('tbody tr').length > before ||
            (doc.body.textContent ?? '').includes('End of the trail.')
          );
        }, shown);
      }
      await end.waitFor();
    };
    const column = async (page: Page, index: number) =>
      page.locator(`tbody tr td:nth-child(${index})`).allTextContents();

    it('serves the page with a strict Content-Security-Policy and the other security headers', async () => {
      // Act
      const page = await context.newPage();
      const response = await page.goto(`${service.url}/console`);
      const embedded = await fetch(`${service.url}/console?embed=1`);
      const html = (await response?.text()) ?? '';

      // Assess
      const headers = response?.headers() ?? {};
      const csp = headers['content-security-policy'] ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toMatch(/connect-src 'self'( http:\/\/127\.0\.0\.1:\d+)?;/);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['referrer-policy']).toBe('no-referrer');
      expect(headers['cache-control']).toBe('no-store');
      expect(embedded.headers.get('content-security-policy')).toContain(`frame-ancestors ${hostOrigin}`);
      expect(embedded.headers.get('x-frame-options')).toBeNull();
      // No inline script or style anywhere in the shell.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|style=/);
      await expect(page.getByLabel('API token').isVisible()).resolves.toBe(true);
      expect(cspViolations).toEqual([]);
      await page.close();
    });

    it('refuses a wrong token with a message, then signs in and keeps the token in sessionStorage only', async () => {
      // Prepare
      const page = await context.newPage();

      // Act
      await signIn(page, 'ats_this-token-does-not-exist-anywhere');
      const refusal = await page.getByRole('alert').first().textContent();
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await rows(page).first().waitFor();
      const storage = await page.evaluate(
        '({ session: Object.keys(sessionStorage), local: localStorage.length, cookie: document.cookie })',
      );
      const cookies = await context.cookies();
      await page.screenshot({ path: join(SCREENSHOTS, 'console-table.png') });

      // Assess
      expect(refusal).toMatch(/not accepted/);
      await expect(rows(page).count()).resolves.toBe(50);
      expect(storage).toEqual({ session: ['audit-trail-console-token'], local: 0, cookie: '' });
      expect(cookies).toEqual([]);
      await page.close();
    });

    it('loads further pages as the table scrolls, to the end of the trail', async () => {
      // Prepare
      const page = await context.newPage();
      await signIn(page);
      await rows(page).nth(49).waitFor();

      // Act
      await scrollToEnd(page);
      const ids = (await column(page, 1)).map(Number);

      // Assess: every entry up to the first one shown, once, newest first (the console's own API
      // calls are recorded while it pages, after the first page's entries, so they are not listed).
      const stored = await service.services.events.queryPage({
        tenant: TENANT,
        selector: { kind: 'all' },
        minId: 0,
        maxId: ids[0] ?? 0,
        newestFirst: true,
        limit: 10_000,
      });
      expect(ids.length).toBeGreaterThanOrEqual(drafts.length);
      expect(ids).toEqual(stored.records.map((record) => record.id));
      await page.close();
    });

    it('filters by action, by user, and by a date range in the chosen time zone', async () => {
      // Prepare
      const page = await context.newPage();
      await signIn(page);
      await rows(page).first().waitFor();
      const logins = drafts.filter((draft) => draft.action_type === 'user_login').length;

      // Act: action
      await page.getByLabel('Action').fill('user_login');
      await page.getByLabel('Action').press('Enter');
      await waitForColumn(page, 3, 'user_login');
      const actions = await column(page, 3);
      const summary = await page.locator('.summary').textContent();

      // Act: user (the action filter cleared: the two cannot be combined)
      await page.getByLabel('Action').fill('');
      await page.getByLabel('User').fill(ALICE);
      await page.getByRole('button', { name: 'Apply' }).click();
      await waitForColumn(page, 4, ALICE);
      const users = await column(page, 4);

      // Act: one day in Tokyo (UTC+9), alice's logins were 09:00-09:11 UTC on Nov 18 = 18:00 Tokyo
      await page.getByLabel('User').fill('');
      await page.getByLabel('From').fill('2026-11-18');
      await page.getByLabel('To').fill('2026-11-18');
      await page.getByLabel('Time zone').fill('Asia/Tokyo');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('columnheader', { name: 'Time (Asia/Tokyo)' }).waitFor();
      // Wait for the filtered rows themselves: the previous filter's rows can still be on screen.
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: PageDocument }).document;
        const cells = Array.from(doc.querySelectorAll('tbody tr td:nth-child(2)'));
        return cells.length > 0 && cells.every((cell) => cell.textContent?.startsWith('2026-11-18'));
      });
      await scrollToEnd(page);
      const times = await column(page, 2);
      await page.screenshot({ path: join(SCREENSHOTS, 'console-filtered.png') });

      // Assess
      expect(actions.length).toBe(Math.min(50, logins));
      expect(summary).toMatch(/entries shown/);
      expect(users.length).toBe(12);
      const tokyoDay = drafts.filter((draft) => {
        const time = draft.timestamp ?? 0;
        return time >= Date.UTC(2026, 10, 17, 15) && time < Date.UTC(2026, 10, 18, 15);
      }).length;
      expect(times.length).toBe(tokyoDay);
      expect(times.every((time) => time.startsWith('2026-11-18'))).toBe(true);
      expect(times.some((time) => /^2026-11-18 18:0\d/.test(time))).toBe(true);
      await page.close();
    });

    it('opens an entry’s full detail with Enter and closes it with Escape, focus returning to the row', async () => {
      // Prepare
      const page = await context.newPage();
      await signIn(page);
      await rows(page).first().waitFor();

      // Act: tab from the start of the page to the first entry's button, as a keyboard user would.
      await page.keyboard.press('Tab');
      let focused = '';
      for (let step = 0; step < 20 && !focused.startsWith('Entry '); step += 1) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate<string>("document.activeElement?.getAttribute('aria-label') ?? ''");
      }
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const json = await dialog.locator('pre').textContent();
      const fields = await dialog.locator('dt').allTextContents();
      await page.screenshot({ path: join(SCREENSHOTS, 'console-detail.png') });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      const after = await page.evaluate<string>("document.activeElement?.getAttribute('aria-label') ?? ''");
      const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');

      // Assess
      expect(focused).toMatch(/^Entry \d+: details$/);
      const entry = JSON.parse(json ?? '{}') as Record<string, unknown>;
      expect(`Entry ${entry.id}: details`).toBe(focused);
      expect(fields).toEqual(Object.keys(entry));
      expect(fields).toEqual(expect.arrayContaining(['id', 'action_type', 'timestamp', 'user', 'message']));
      expect(after).toBe(focused);
      expect(outline).toBe('solid');
      await page.close();
    });

    it('downloads the zip through 202 → job → 303 → presigned URL, showing the bytes received', async () => {
      // Prepare
      const page = await context.newPage();
      await signIn(page);
      await rows(page).first().waitFor();

      // Act
      const downloading = page.waitForEvent('download', { timeout: 60_000 });
      await page.getByRole('button', { name: 'Download zip' }).click();
      await page.getByText('Preparing the export…').waitFor();
      const download = await downloading;
      const path = join(SCREENSHOTS, '..', `console-download-${process.pid}.zip`);
      await download.saveAs(path);
      const status = await page.getByTestId('download-status').textContent();
      const { readFileSync, rmSync } = await import('node:fs');
      const zip = readFileSync(path);
      rmSync(path);

      // Assess
      expect(download.suggestedFilename()).toBe('canary_audit_trail.json.zip');
      expect(zip.subarray(0, 2).toString('latin1')).toBe('PK');
      expect(status).toMatch(/Downloaded canary_audit_trail\.json\.zip \(\d+(\.\d)? KB\)/);
      expect(cspViolations).toEqual([]);
      await page.close();
    });

    it('waits out a 429 as Retry-After says and retries; shows a network failure with a working Retry', async () => {
      // Prepare: faults a real service does not produce on demand, injected in the browser's network.
      const page = await context.newPage();
      await signIn(page);
      await rows(page).first().waitFor();
      let limited = 0;
      await page.route('**/api/v1/audit_trail/fetch?*', async (route) => {
        if (limited++ === 0)
          await route.fulfill({
            status: 429,
            headers: { 'retry-after': '2', 'content-type': 'application/json' },
            body: JSON.stringify({ result: 'error', message: 'Too many requests' }),
          });
        else await route.continue();
      });

      // Act: rate limited
      await page.getByLabel('Action').fill('user_login');
      await page.getByRole('button', { name: 'Apply' }).click();
      const waiting = await page.getByText(/retrying in \d s/).textContent();
      await waitForColumn(page, 3, 'user_login');
      await page.unroute('**/api/v1/audit_trail/fetch?*');

      // Act: network down
      await page.route('**/api/v1/audit_trail/fetch?*', (route) => route.abort('internetdisconnected'));
      await page.getByLabel('Action').fill('');
      await page.getByRole('button', { name: 'Apply' }).click();
      const failure = await page.getByRole('alert').textContent();
      await page.unroute('**/api/v1/audit_trail/fetch?*');
      await page.getByRole('button', { name: 'Retry' }).click();
      await page.getByRole('alert').waitFor({ state: 'detached' });
      await rows(page).nth(49).waitFor();

      // Assess
      expect(limited).toBeGreaterThanOrEqual(2);
      expect(waiting).toMatch(/busy \(429\); retrying in [12] s/);
      expect(failure).toMatch(/could not be reached/);
      await expect(rows(page).count()).resolves.toBe(50);
      await page.close();
    });

    it('sends a revoked token back to sign-in with a message, and signing out forgets the token', async () => {
      // Prepare
      const page = await context.newPage();
      const { token: doomed, record } = await issueToken(
        service.services.tokens,
        {
          tenant: TENANT,
          scopes: ['read'],
        },
        service.services.tenants,
      );
      await signIn(page, doomed);
      await rows(page).first().waitFor();
      await service.services.tokens.revokeToken(TENANT, record.tokenId);

      // Act
      await page.getByRole('button', { name: 'Apply' }).click();
      const message = await page.getByRole('alert').first().textContent();
      const afterExpiry = await page.evaluate<number>('sessionStorage.length');
      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await rows(page).first().waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API token').waitFor();
      const afterSignOut = await page.evaluate<number>('sessionStorage.length');

      // Assess
      expect(message).toMatch(/invalid, revoked or expired/);
      expect(afterExpiry).toBe(0);
      expect(afterSignOut).toBe(0);
      await page.close();
    });

    it.each([
      ['postMessage', 'message'],
      ['the URL fragment', 'fragment'],
    ] as const)(
      'embeds in another origin’s page with an actor-narrowed token passed by %s, showing only that actor',
      async (_how, mode) => {
        // Prepare
        const narrowed = (
          await issueToken(
            service.services.tokens,
            { tenant: TENANT, scopes: ['read'], actor: ALICE },
            service.services.tenants,
          )
        ).token;
        hostPages.set(`/${mode}`, hostPage(`${service.url}/console?embed=1`, narrowed, mode));
        const page = await context.newPage();
        const urls: string[] = [];
        page.on('request', (request) => urls.push(request.url()));

        // Act
        await page.goto(`${hostOrigin}/${mode}`);
        const frame = page.frameLocator('iframe');
        await frame.locator('tbody tr').nth(11).waitFor();
        await frame.getByText('End of the trail.').waitFor();
        const users = await frame.locator('tbody tr td:nth-child(4)').allTextContents();
        const controls = {
          download: await frame.getByRole('button', { name: 'Download zip' }).count(),
          user: await frame.getByLabel('User').count(),
          action: await frame.getByLabel('Action').count(),
        };
        const hash = await page.frames()[1]?.evaluate<string>('window.location.hash');
        if (mode === 'message') await page.screenshot({ path: join(SCREENSHOTS, 'console-embed.png') });

        // Assess
        expect(users).toEqual(Array.from({ length: 12 }, () => ALICE));
        expect(controls).toEqual({ download: 0, user: 0, action: 0 });
        expect(hash).toBe('');
        // The token never travels in a URL (which servers and proxies log).
        expect(urls.filter((url) => url.includes(narrowed) && !url.includes('#'))).toEqual([]);
        expect(cspViolations).toEqual([]);
        await page.close();
      },
    );

    it('ignores a token posted by an origin that is not allowed to embed the console', async () => {
      // Prepare: the console framed by an allowed host, but the token comes from another window.
      const narrowed = (
        await issueToken(
          service.services.tokens,
          { tenant: TENANT, scopes: ['read'], actor: ALICE },
          service.services.tenants,
        )
      ).token;
      hostPages.set(
        '/silent',
        hostPage(`${service.url}/console?embed=1`, narrowed, 'message').replace(
          /<script>[\s\S]*<\/script>/,
          '',
        ),
      );
      const page = await context.newPage();
      await page.goto(`${hostOrigin}/silent`);
      const frame = page.frames()[1];
      await page.frameLocator('iframe').getByText('Waiting for the application').waitFor();

      // Act: a message whose origin is the console itself (not in the allow-list), from the frame's own window.
      await frame?.evaluate(
        `window.postMessage({ type: 'audit-trail:token', token: ${JSON.stringify(narrowed)} }, '*')`,
      );
      await page.frameLocator('iframe').getByText('Waiting for the application').waitFor();
      const rowsShown = await page.frameLocator('iframe').locator('tbody tr').count();

      // Assess
      expect(rowsShown).toBe(0);
      await page.close();
    });
  });
}
