import { ConfigurationError } from '../domain/errors.js';

/**
 * The console page (`GET /console`): its HTML shell and security headers. The shell holds no
 * inline script or style (the Content-Security-Policy forbids both); the browser code and styles
 * are separate files served by the same function (`GET /console/{asset}`).
 */

/** What a deployment configures about the console. */
export interface ConsoleSettings {
  /** Origins that may embed `/console?embed=1` in a frame (and post it a token). Empty: none. */
  readonly frameAncestors: readonly string[];
  /**
   * Origins besides this API that the console may fetch from: where download redirects (303)
   * lead, the exports bucket's presigned URLs. Empty: only this API.
   */
  readonly downloadOrigins: readonly string[];
}

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/;

/**
 * Parses a space- or comma-separated list of origins (`https://app.example.com`), as in the
 * `CONSOLE_FRAME_ANCESTORS` and `CONSOLE_DOWNLOAD_ORIGINS` variables. Throws on anything else,
 * so a typo cannot widen the policy (no wildcards, paths or schemes besides http and https).
 */
export const parseOrigins = (text: string | undefined, name: string): string[] => {
  const origins = (text ?? '').split(/[\s,]+/).filter((origin) => origin.length > 0);
  const bad = origins.filter((origin) => !ORIGIN.test(origin));
  if (bad.length > 0)
    throw new ConfigurationError(
      `${name} must list origins like https://app.example.com; not: ${bad.join(' ')}`,
    );
  return [...new Set(origins)];
};

/** The settings of this container, from its environment. */
export const consoleSettingsOf = (env: Readonly<Record<string, string | undefined>>): ConsoleSettings => ({
  frameAncestors: parseOrigins(env.CONSOLE_FRAME_ANCESTORS, 'CONSOLE_FRAME_ANCESTORS'),
  downloadOrigins: parseOrigins(env.CONSOLE_DOWNLOAD_ORIGINS, 'CONSOLE_DOWNLOAD_ORIGINS'),
});

/**
 * The Content-Security-Policy of the page: everything from this origin only, no inline code, no
 * plugins, no `<base>`; framing only by the configured origins and only in embed mode.
 */
export const contentSecurityPolicy = (settings: ConsoleSettings, embed: boolean): string => {
  const ancestors =
    embed && settings.frameAncestors.length > 0 ? settings.frameAncestors.join(' ') : "'none'";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ['connect-src', "'self'", ...settings.downloadOrigins].join(' '),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
};

/** Every security header of the page (and, without the CSP's meaning for them, of its assets). */
export const securityHeaders = (settings: ConsoleSettings, embed: boolean): Record<string, string> => ({
  'content-security-policy': contentSecurityPolicy(settings, embed),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  // Framing allowed only through frame-ancestors in embed mode (X-Frame-Options has no allow-list).
  ...(embed ? {} : { 'x-frame-options': 'DENY', 'cross-origin-opener-policy': 'same-origin' }),
});

const escapeAttribute = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The HTML shell. `base` is the path prefix the API is served under (a stage name in API Gateway,
 * empty locally); the browser code reads it, and the embed origins, from meta tags.
 */
export const consoleHtml = (options: {
  base: string;
  embed: boolean;
  embedOrigins: readonly string[];
  version: string;
}): string => {
  const base = escapeAttribute(options.base);
  const version = escapeAttribute(options.version);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit trail console</title>
<meta name="audit-trail-base" content="${base}">
<meta name="audit-trail-embed" content="${options.embed ? '1' : '0'}">
<meta name="audit-trail-embed-origins" content="${escapeAttribute(options.embedOrigins.join(' '))}">
<link rel="stylesheet" href="${base}/console/app.css?v=${version}">
<script type="module" src="${base}/console/app.js?v=${version}"></script>
</head>
<body>
<noscript>The audit trail console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`;
};
