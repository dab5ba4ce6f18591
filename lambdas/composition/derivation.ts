import {
  DynamoDbCounterStep,
  DynamoDbDerivationJournal,
  DynamoDbJointCommit,
} from '../adapters/dynamodb-derivation.js';
import { DynamoDbSequencerStep, insertedEntry } from '../adapters/dynamodb-tlog.js';
import { changeRecordOf, type RawStreamRecord } from '../adapters/stream-records.js';
import { DEFAULT_PLANNER, ShardPlanner } from '../domain/hot-shards.js';
import type { ChangeRecord, DerivationStep } from '../ports/derivation.js';
import { CheckpointFollowUp, signHead } from '../use-cases/checkpoint-log.js';
import type { DeriveDependencies } from '../use-cases/derive-changes.js';
import type { ServiceConfig } from './config.js';
import { coreServices } from './dynamodb.js';
import { perConfig } from './memo.js';
import { checkpointDependencies, hasCheckpointSigner } from './tlog-signer.js';

/**
 * The events table's stream consumer: the journal and the derivation steps, side by side, each in
 * chunks of its own (the verifiable log's sequencer, a transaction a delivery, and the rollup
 * counters; a delivery both take whole in one transaction), then once per delivery the log's
 * checkpoints (when a signing key is configured).
 */
export const derivationDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): DeriveDependencies => derivation(config, { log: true }),
);

/**
 * The derivation of `config`, a new one each call; `log: false` leaves the verifiable log out (the
 * bench's baseline: the same counter step, without the sequencer and checkpoints).
 */
export const derivation = (config: ServiceConfig, options: { readonly log: boolean }): DeriveDependencies => {
  const { doc, shardPlans } = coreServices(config);
  const controlTable = config.CONTROL_TABLE;
  const planner = new ShardPlanner({
    ...DEFAULT_PLANNER,
    targetUnitsPerKey: config.HOT_TENANT_UNITS_PER_KEY,
  });
  const journal = new DynamoDbDerivationJournal(doc, { controlTable });
  // The sequencer is a step of its own, beside the counters (docs/architecture.md, "Sequencer"); with
  // a signing key each new head's checkpoint goes into its transaction.
  const signing = hasCheckpointSigner(config) ? checkpointDependencies(config) : undefined;
  const sequencer = new DynamoDbSequencerStep(doc, {
    controlTable,
    ...(signing
      ? {
          checkpoints: {
            sign: (tenant, head) => signHead(signing, tenant, head),
            intervalMs: config.TLOG_CHECKPOINT_INTERVAL_MS,
          },
        }
      : {}),
  });
  const counters = new DynamoDbCounterStep(doc, {
    controlTable,
    shardPlans,
    planShards: { planner, store: shardPlans },
  });
  const steps: DerivationStep[] = options.log ? [sequencer, counters] : [counters];
  if (!options.log) return { journal, steps };
  // A delivery both steps take whole (a small one) is committed in one transaction.
  const joint = new DynamoDbJointCommit(doc);
  if (!signing) return { journal, steps, joint };
  const tenantOf = (record: ChangeRecord) => insertedEntry(record)?.tenant;
  const checkpoints = new CheckpointFollowUp(signing, tenantOf, (tenant) => sequencer.committedHead(tenant));
  return { journal, steps, joint, followUps: [checkpoints] };
};

/** The stream consumer's: the derivation, and how a Lambda stream record becomes a change. */
export interface DeriveStreamDependencies {
  readonly derivation: DeriveDependencies;
  readonly decode: (raw: RawStreamRecord) => ChangeRecord;
}
export const deriveStreamDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): DeriveStreamDependencies => ({
    derivation: derivationDependencies(config),
    decode: changeRecordOf,
  }),
);
