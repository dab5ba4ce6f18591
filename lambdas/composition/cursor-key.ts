import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError } from '../domain/errors.js';
import { rememberSecret } from '../domain/redaction.js';
import type { ServiceConfig } from './config.js';

/** Reads the cursor-signing key: CURSOR_KEY locally, the Secrets Manager secret in AWS. */
export const readCursorKey = async (config: ServiceConfig): Promise<Uint8Array> => {
  if (!config.CURSOR_KEY && !config.CURSOR_KEY_SECRET_ARN) {
    throw new ConfigurationError('Invalid configuration: set CURSOR_KEY or CURSOR_KEY_SECRET_ARN');
  }
  let encoded = config.CURSOR_KEY;
  if (!encoded && config.CURSOR_KEY_SECRET_ARN) {
    const client = new SecretsManagerClient({ region: config.AWS_REGION });
    const secret = await client.send(new GetSecretValueCommand({ SecretId: config.CURSOR_KEY_SECRET_ARN }));
    encoded = secret.SecretString;
  }
  const key = Buffer.from(encoded ?? '', 'base64');
  if (key.length < 32)
    throw new ConfigurationError('The cursor-signing key must be at least 32 bytes (base64)');
  // Never in a record or an answer, in whatever form a caller might send it.
  rememberSecret(encoded ?? '');
  rememberSecret(key);
  return key;
};

const keys = new WeakMap<ServiceConfig, Promise<Uint8Array>>();

/**
 * The cursor-signing key of `config`, read once (a failed read is tried again on the next call).
 * Only the endpoints that issue or read cursors import this module, so only their bundles carry
 * the Secrets Manager client.
 */
export const cursorKey = (config: ServiceConfig): Promise<Uint8Array> => {
  let key = keys.get(config);
  if (!key) {
    key = readCursorKey(config).catch((error: unknown) => {
      keys.delete(config);
      throw error;
    });
    keys.set(config, key);
  }
  return key;
};
