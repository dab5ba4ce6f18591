import { randomBytes, randomUUID } from 'node:crypto';

/** Kore app ids look like Kore.ai's client ids: "cs-" and a UUID. */
export const KORE_APP_ID_PATTERN = /^cs-[A-Za-z0-9-]{8,64}$/;
/** Client secrets: 32–128 URL-safe characters (generated ones are 43 base64url characters, 256 bits). */
export const KORE_SECRET_PATTERN = /^[A-Za-z0-9._~+/=-]{32,128}$/;

export const isKoreAppId = (appId: string): boolean => KORE_APP_ID_PATTERN.test(appId);
export const isKoreSecret = (secret: string): boolean => KORE_SECRET_PATTERN.test(secret);

/** A new app id and client secret. */
export const generateKoreApp = (): { appId: string; clientSecret: string } => ({
  appId: `cs-${randomUUID()}`,
  clientSecret: randomBytes(32).toString('base64url'),
});
