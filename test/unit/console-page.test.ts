import { describe, expect, it } from '@jest/globals';
import {
  consoleHtml,
  contentSecurityPolicy,
  parseOrigins,
  securityHeaders,
} from '../../lambdas/http/console-page.js';

describe('Console page', () => {
  const settings = {
    frameAncestors: ['https://app.example.com'],
    downloadOrigins: ['https://exports.s3.amazonaws.com'],
  };

  describe('Function: parseOrigins', () => {
    it('accepts origins separated by spaces or commas, once each', () => {
      // Act
      const origins = parseOrigins(
        'https://a.example.com, http://127.0.0.1:8080  https://a.example.com',
        'X',
      );
      // Assess
      expect(origins).toEqual(['https://a.example.com', 'http://127.0.0.1:8080']);
    });

    it.each([
      '*',
      'https://*.example.com',
      "'self'",
      'javascript:alert(1)',
      'https://a.example.com/path',
      'data:',
    ])('refuses %s, so a typo cannot widen the policy', (origin) => {
      expect(() => parseOrigins(origin, 'CONSOLE_FRAME_ANCESTORS')).toThrow(
        /CONSOLE_FRAME_ANCESTORS must list origins/,
      );
    });
  });

  describe('Function: contentSecurityPolicy', () => {
    it('allows framing only in embed mode and only by the configured origins', () => {
      // Act
      const page = contentSecurityPolicy(settings, false);
      const embed = contentSecurityPolicy(settings, true);
      const unconfigured = contentSecurityPolicy({ frameAncestors: [], downloadOrigins: [] }, true);
      // Assess
      expect(page).toContain("frame-ancestors 'none'");
      expect(embed).toContain('frame-ancestors https://app.example.com');
      expect(unconfigured).toContain("frame-ancestors 'none'");
      expect(unconfigured).toContain("connect-src 'self';");
      expect(page).toContain("connect-src 'self' https://exports.s3.amazonaws.com;");
      for (const policy of [page, embed]) {
        expect(policy).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self';/);
        expect(policy).not.toMatch(/unsafe|\*/);
      }
    });

    it('sends X-Frame-Options DENY except in embed mode', () => {
      expect(securityHeaders(settings, false)['x-frame-options']).toBe('DENY');
      expect(securityHeaders(settings, true)['x-frame-options']).toBeUndefined();
    });
  });

  describe('Function: consoleHtml', () => {
    it('has no inline script or style and escapes what it embeds', () => {
      // Act
      const html = consoleHtml({
        base: '/v1"><script>',
        embed: true,
        embedOrigins: ['https://a.example.com'],
        version: 'x',
      });
      // Assess
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|style=/);
      expect(html).toContain('/v1&quot;&gt;&lt;script&gt;/console/app.js');
      expect(html).toContain('<meta name="audit-trail-embed-origins" content="https://a.example.com">');
    });
  });
});
