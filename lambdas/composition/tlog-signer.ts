import { kmsNoteSigner } from '../adapters/kms-note-signer.js';
import { ConfigurationError } from '../domain/errors.js';
import { type NoteSigner, parseSignerKey } from '../domain/tlog/note.js';
import type { CheckpointDependencies } from '../use-cases/checkpoint-log.js';
import type { ServiceConfig } from './config.js';
import { awsCredentials } from './credentials.js';
import { perConfig } from './memo.js';
import { tlogStore } from './tlog-store.js';

/** Whether checkpoints are signed in this configuration (a key file locally, KMS in AWS). */
export const hasCheckpointSigner = (config: ServiceConfig): boolean =>
  config.TLOG_SIGNING_KEY !== undefined || config.TLOG_KMS_KEY_ID !== undefined;

const readSigner = async (config: ServiceConfig): Promise<NoteSigner> => {
  if (config.TLOG_SIGNING_KEY !== undefined) {
    const signer = parseSignerKey(config.TLOG_SIGNING_KEY);
    if (signer.name !== config.TLOG_ORIGIN)
      throw new ConfigurationError('TLOG_SIGNING_KEY must be a key named TLOG_ORIGIN');
    return signer;
  }
  if (config.TLOG_KMS_KEY_ID !== undefined) {
    return kmsNoteSigner({
      region: config.AWS_REGION,
      keyId: config.TLOG_KMS_KEY_ID,
      name: config.TLOG_ORIGIN,
      credentials: awsCredentials(),
    });
  }
  throw new ConfigurationError('Invalid configuration: set TLOG_SIGNING_KEY or TLOG_KMS_KEY_ID');
};

const signers = new WeakMap<ServiceConfig, Promise<NoteSigner>>();

/** The checkpoint signer of `config`, built once (a failed build is tried again on the next call). */
export const checkpointSigner = (config: ServiceConfig): Promise<NoteSigner> => {
  let signer = signers.get(config);
  if (!signer) {
    signer = readSigner(config).catch((error: unknown) => {
      signers.delete(config);
      throw error;
    });
    signers.set(config, signer);
  }
  return signer;
};

/** What signs and stores checkpoints. */
export const checkpointDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): CheckpointDependencies => {
    const store = tlogStore(config);
    return {
      reader: store,
      writer: store,
      signer: () => checkpointSigner(config),
      origin: config.TLOG_ORIGIN,
    };
  },
);
