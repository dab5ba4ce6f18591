import type { Credential, CredentialSource } from '../use-cases/authenticate.js';

/** Every source, in order of precedence. */
export const ALL_CREDENTIAL_SOURCES: readonly CredentialSource[] = [
  'x-api-key',
  'authorization',
  'auth_token',
  'auth',
];

type Parameters = Readonly<Record<string, string | undefined>>;

/**
 * Finds the caller's credential among `sources` (default: every form): a token as `x-api-key`
 * header, `Authorization: Bearer`, or `auth_token` in the query string or form body; or a kore JWT
 * in the `auth` header. A credential in a source left out is not seen. `headers` keys must be
 * lower case.
 */
export const extractCredential = (
  headers: Parameters,
  query: Parameters,
  form: Parameters = {},
  sources: readonly CredentialSource[] = ALL_CREDENTIAL_SOURCES,
): Credential | undefined => {
  const apiKey = headers['x-api-key'];
  if (apiKey && sources.includes('x-api-key'))
    return { kind: 'token', value: apiKey.trim(), source: 'x-api-key' };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (bearer?.[1] && sources.includes('authorization'))
    return { kind: 'token', value: bearer[1], source: 'authorization' };
  const authToken = query.auth_token ?? form.auth_token;
  if (authToken && sources.includes('auth_token'))
    return { kind: 'token', value: authToken.trim(), source: 'auth_token' };
  const jwt = headers.auth?.trim().replace(/^Bearer\s+/i, '');
  if (jwt && sources.includes('auth')) return { kind: 'jwt', value: jwt, source: 'auth' };
  return undefined;
};
