import { describe, expect, it } from '@jest/globals';
import { UnauthorizedError } from '../../lambdas/domain/errors.js';
import { extractCredential } from '../../lambdas/http/credentials.js';
import type { TokenRecord, TokenStore } from '../../lambdas/ports/control-store.js';
import type { KoreAppRecord, KoreAppStore } from '../../lambdas/ports/kore-app-store.js';
import { Authenticator } from '../../lambdas/use-cases/authenticate.js';
import { JWT_MAX_LIFETIME_SECONDS, KoreJwtVerifier } from '../../lambdas/use-cases/kore-jwt.js';
import { koreJwt } from '../helpers/kore-jwt.js';

const APP: KoreAppRecord = {
  appId: 'cs-0b6c1a2e-5f1d-4c57-9a43-1f7e2c1d0a11',
  tenant: 'acme',
  name: 'reporting app',
  clientSecret: 'k'.repeat(43),
  scopes: ['read'],
  createdAt: 0,
};

/** In-memory stores that count lookups. */
const stores = () => {
  const lookups = { tokens: 0, apps: 0 };
  const tokens: TokenStore = {
    putToken: async () => undefined,
    findTokenByHash: async (): Promise<TokenRecord | undefined> => {
      lookups.tokens += 1;
      return undefined;
    },
    listTokens: async () => [],
    revokeToken: async () => false,
  };
  const koreApps: KoreAppStore = {
    putApp: async () => undefined,
    findApp: async (appId) => {
      lookups.apps += 1;
      return appId === APP.appId ? APP : undefined;
    },
    listApps: async () => [],
    revokeApp: async () => false,
  };
  return { tokens, koreApps, lookups };
};

/** An Authenticator that takes kore JWTs, as the kore endpoint's and the authorizer's are built. */
const withJwt = (
  tokens: TokenStore,
  koreApps: KoreAppStore,
  options: { cacheSeconds: number; clock?: () => number },
) => new Authenticator(tokens, { ...options, jwt: new KoreJwtVerifier(koreApps, options) });

describe('extractCredential', () => {
  it('keeps the token forms, in their order of precedence', () => {
    expect(
      extractCredential({ 'x-api-key': ' t1 ', authorization: 'Bearer t2' }, { auth_token: 't3' }),
    ).toEqual({
      kind: 'token',
      value: 't1',
      source: 'x-api-key',
    });
    expect(extractCredential({ authorization: 'Bearer t2' }, { auth_token: 't3' })?.source).toBe(
      'authorization',
    );
    expect(extractCredential({}, {}, { auth_token: 't3' })?.source).toBe('auth_token');
  });

  it('reads a kore JWT from the auth header', () => {
    expect(extractCredential({ auth: ' a.b.c ' }, {})).toEqual({
      kind: 'jwt',
      value: 'a.b.c',
      source: 'auth',
    });
    expect(extractCredential({ auth: 'Bearer a.b.c' }, {})?.value).toBe('a.b.c');
  });

  it('finds nothing when nothing is sent', () => {
    expect(extractCredential({ auth: '  ' }, {})).toBeUndefined();
  });
});

describe('Authenticator with kore JWTs', () => {
  it("resolves a valid JWT to its app's tenant and scopes", async () => {
    // Prepare
    const { tokens, koreApps } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const jwt = await koreJwt(APP.appId, APP.clientSecret);

    // Act
    const principal = await authenticator.authenticate({ kind: 'jwt', value: jwt, source: 'auth' });

    // Assess
    expect(principal).toEqual({
      tenant: 'acme',
      tokenId: APP.appId,
      tokenName: 'reporting app',
      scopes: ['read'],
    });
  });

  it('honours exp within the clock skew only', async () => {
    // Prepare
    const { tokens, koreApps } = stores();
    const now = Date.now();
    const jwt = await koreJwt(APP.appId, APP.clientSecret, { expiresIn: Math.floor(now / 1000) + 10 });
    const at = (time: number) => withJwt(tokens, koreApps, { cacheSeconds: 0, clock: () => time });

    // Act
    const withinSkew = at(now + 50_000).authenticate({ kind: 'jwt', value: jwt, source: 'auth' });
    const pastSkew = at(now + 120_000).authenticate({ kind: 'jwt', value: jwt, source: 'auth' });

    // Assess
    await expect(withinSkew).resolves.toMatchObject({ tenant: 'acme' });
    await expect(pastSkew).rejects.toThrow('has expired');
  });

  it('refuses alg none and other algorithms before looking the app up', async () => {
    // Prepare
    const { tokens, koreApps, lookups } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const hs384 = await koreJwt(APP.appId, APP.clientSecret, { alg: 'HS384' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ appId: APP.appId })).toString('base64url')}.`;

    // Act & Assess
    for (const value of [hs384, none]) {
      await expect(authenticator.authenticate({ kind: 'jwt', value, source: 'auth' })).rejects.toThrow(
        UnauthorizedError,
      );
    }
    expect(lookups.apps).toBe(0);
  });

  it('never echoes the JWT in its messages', async () => {
    // Prepare
    const { tokens, koreApps } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const jwt = await koreJwt(APP.appId, 'w'.repeat(43));

    // Act
    const error = await authenticator
      .authenticate({ kind: 'jwt', value: jwt, source: 'auth' })
      .catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(String((error as Error).message)).not.toContain(jwt.split('.')[2]);
  });

  it('refuses a JWT living longer than 24 hours, by exp from now or from iat', async () => {
    // Prepare
    const { tokens, koreApps } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const now = Math.floor(Date.now() / 1000);
    const year9999 = await koreJwt(APP.appId, APP.clientSecret, { expiresIn: 253_402_300_799 });
    const noIat = await koreJwt(APP.appId, APP.clientSecret, {
      expiresIn: now + JWT_MAX_LIFETIME_SECONDS + 3600,
      claims: { iat: undefined },
    });
    const fromOldIat = await koreJwt(APP.appId, APP.clientSecret, {
      issuedAt: now - 3600,
      expiresIn: now + JWT_MAX_LIFETIME_SECONDS - 60,
    });
    const oneDay = await koreJwt(APP.appId, APP.clientSecret, { expiresIn: now + JWT_MAX_LIFETIME_SECONDS });

    // Act & Assess
    for (const value of [year9999, noIat, fromOldIat]) {
      await expect(authenticator.authenticate({ kind: 'jwt', value, source: 'auth' })).rejects.toThrow(
        'lives too long',
      );
    }
    await expect(
      authenticator.authenticate({ kind: 'jwt', value: oneDay, source: 'auth' }),
    ).resolves.toMatchObject({ tenant: 'acme' });
  });

  it('refuses an iat in the future beyond the clock skew', async () => {
    // Prepare
    const { tokens, koreApps } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const now = Math.floor(Date.now() / 1000);
    const later = await koreJwt(APP.appId, APP.clientSecret, { issuedAt: now + 600, expiresIn: now + 900 });
    const withinSkew = await koreJwt(APP.appId, APP.clientSecret, {
      issuedAt: now + 30,
      expiresIn: now + 900,
    });

    // Act & Assess
    await expect(authenticator.authenticate({ kind: 'jwt', value: later, source: 'auth' })).rejects.toThrow(
      'issued in the future',
    );
    await expect(
      authenticator.authenticate({ kind: 'jwt', value: withinSkew, source: 'auth' }),
    ).resolves.toMatchObject({ tenant: 'acme' });
  });

  it('refuses a signature spelled in non-canonical base64url', async () => {
    // Prepare: a 32-byte HMAC is 43 characters; the last carries 4 bits of data and 2 unused ones.
    const { tokens, koreApps } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const jwt = await koreJwt(APP.appId, APP.clientSecret);
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.slice(-1));
    const twin = `${signature.slice(0, -1)}${alphabet[last ^ 1]}`;
    const forged = `${header}.${payload}.${twin}`;
    // The twin decodes to the very same bytes: only the encoding differs.
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));

    // Act & Assess
    await expect(
      authenticator.authenticate({ kind: 'jwt', value: jwt, source: 'auth' }),
    ).resolves.toMatchObject({ tenant: 'acme' });
    await expect(authenticator.authenticate({ kind: 'jwt', value: forged, source: 'auth' })).rejects.toThrow(
      UnauthorizedError,
    );
  });

  it('answers an unknown app exactly as a wrong signature, so app ids cannot be probed', async () => {
    // Prepare
    const { tokens, koreApps } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 0 });
    const unknownApp = await koreJwt('cs-00000000-0000-4000-8000-000000000000', APP.clientSecret);
    const wrongSecret = await koreJwt(APP.appId, 'w'.repeat(43));
    const expiredUnknown = await koreJwt('cs-00000000-0000-4000-8000-000000000000', APP.clientSecret, {
      expiresIn: Math.floor(Date.now() / 1000) - 3600,
    });
    const messageOf = async (value: string) =>
      ((await authenticator.authenticate({ kind: 'jwt', value, source: 'auth' }).catch((e) => e)) as Error)
        .message;

    // Act
    const messages = await Promise.all([unknownApp, wrongSecret, expiredUnknown].map(messageOf));

    // Assess
    expect(messages).toEqual([
      'The JWT in the auth header is not valid',
      'The JWT in the auth header is not valid',
      'The JWT in the auth header is not valid',
    ]);
  });

  it('remembers app lookups for the cache time', async () => {
    // Prepare
    const { tokens, koreApps, lookups } = stores();
    const authenticator = withJwt(tokens, koreApps, { cacheSeconds: 30 });
    const jwt = await koreJwt(APP.appId, APP.clientSecret);

    // Act
    for (let i = 0; i < 3; i += 1)
      await authenticator.authenticate({ kind: 'jwt', value: jwt, source: 'auth' });

    // Assess
    expect(lookups.apps).toBe(1);
  });

  it('refuses every JWT, before any lookup, when it has no JWT verifier (functions whose routes take none)', async () => {
    // Prepare
    const { tokens, lookups } = stores();
    const tokensOnly = new Authenticator(tokens, { cacheSeconds: 0 });
    const valid = await koreJwt(APP.appId, APP.clientSecret);

    // Act
    const answers = await Promise.all(
      [valid, 'a.b.c'].map((value) =>
        tokensOnly.authenticate({ kind: 'jwt', value, source: 'auth' }).catch((e: unknown) => e),
      ),
    );

    // Assess
    for (const answer of answers) {
      expect(answer).toBeInstanceOf(UnauthorizedError);
      expect((answer as Error).message).toBe('The JWT in the auth header is not valid');
    }
    expect(lookups).toEqual({ tokens: 0, apps: 0 });
  });
});
