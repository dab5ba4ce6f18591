import { SignJWT } from 'jose';

/** A kore JWT for `appId` signed with `secret` (HS256, 5 minutes unless `expiresIn` says otherwise). */
export const koreJwt = async (
  appId: string,
  secret: string,
  options: {
    expiresIn?: string | number | null;
    issuedAt?: number;
    alg?: string;
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> => {
  const jwt = new SignJWT({ appId, sub: 'audit-reader', ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setIssuedAt(options.issuedAt ?? Math.floor(Date.now() / 1000));
  // null leaves `exp` out.
  if (options.expiresIn !== null) jwt.setExpirationTime(options.expiresIn ?? '5m');
  return jwt.sign(new TextEncoder().encode(secret));
};

/** An unsigned JWT (`alg: none`), as an attacker would forge one. */
export const unsignedJwt = (claims: Record<string, unknown>): string => {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
};
