import type { TrailingFiles } from '../domain/export.js';
import type { ArchiveManifest } from '../domain/purge.js';
import type { PurgeReceipts } from '../ports/tlog.js';
import { purgeReceipts } from '../use-cases/checkpoint-log.js';
import { writeArchiveProof } from '../use-cases/tlog-archive-proof.js';
import { tlogTrailingFiles } from '../use-cases/tlog-export-files.js';
import { archiveStore } from './archive-objects.js';
import type { ServiceConfig } from './config.js';
import { coreServices } from './dynamodb.js';
import { perConfig } from './memo.js';
import { checkpointDependencies, checkpointSigner, hasCheckpointSigner } from './tlog-signer.js';
import { tlogStore } from './tlog-store.js';

export { checkpointDependencies, checkpointSigner, hasCheckpointSigner, tlogStore };

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
