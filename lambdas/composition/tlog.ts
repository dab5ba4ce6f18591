import { DynamoDbTlogStore } from '../adapters/dynamodb-tlog.js';
import { kmsNoteSigner } from '../adapters/kms-note-signer.js';
import { ConfigurationError } from '../domain/errors.js';
import type { TrailingFiles } from '../domain/export.js';
import type { ArchiveManifest } from '../domain/purge.js';
import { type NoteSigner, parseSignerKey } from '../domain/tlog/note.js';
import type { PurgeReceipts } from '../ports/tlog.js';
import { type CheckpointDependencies, purgeReceipts } from '../use-cases/checkpoint-log.js';
import { writeArchiveProof } from '../use-cases/tlog-archive-proof.js';
import { tlogTrailingFiles } from '../use-cases/tlog-export-files.js';
import { archiveStore } from './archive-objects.js';
import type { ServiceConfig } from './config.js';
import { awsCredentials } from './credentials.js';
import { coreServices } from './dynamodb.js';
import { perConfig } from './memo.js';

/** The tenants' verifiable logs in the control table. */
export const tlogStore = /* @__PURE__ */ perConfig(
  (config: ServiceConfig) =>
    new DynamoDbTlogStore(coreServices(config).doc, { controlTable: config.CONTROL_TABLE }),
);

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

/**
 * The proof file every download zip carries beside its document (`tlog-proof.jsonl`), when
 * checkpoints are signed in this configuration.
 */
export const tlogExportFiles = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): TrailingFiles | undefined => {
    if (!hasCheckpointSigner(config)) return undefined;
    const { events, clock } = coreServices(config);
    return tlogTrailingFiles({
      reader: tlogStore(config),
      events,
      verifier: async () => (await checkpointSigner(config)).verifier,
      origin: config.TLOG_ORIGIN,
      clock,
      waitMs: config.TLOG_EXPORT_WAIT_MS,
    });
  },
);

/** The purge receipts every purge segment signs before deleting, when checkpoints are signed. */
export const tlogPurgeReceipts = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): PurgeReceipts | undefined =>
    hasCheckpointSigner(config)
      ? purgeReceipts({ ...checkpointDependencies(config), writer: tlogStore(config) })
      : undefined,
);

/**
 * What writes a completed purge job's archive proof (`<job>.tlog-proof.jsonl`), when checkpoints are
 * signed and archives kept in this configuration.
 */
export const tlogArchiveProofs = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): ((manifest: ArchiveManifest) => Promise<void>) | undefined => {
    const archives = archiveStore(config);
    if (!hasCheckpointSigner(config) || !archives) return undefined;
    const deps = {
      reader: tlogStore(config),
      archives,
      verifier: async () => (await checkpointSigner(config)).verifier,
      origin: config.TLOG_ORIGIN,
    };
    return (manifest) => writeArchiveProof(deps, manifest);
  },
);
