import { DynamoDbCounterStep, DynamoDbDerivationJournal } from '../adapters/dynamodb-derivation.js';
import { DynamoDbSequencerStep, insertedEntry } from '../adapters/dynamodb-tlog.js';
import { changeRecordOf, type RawStreamRecord } from '../adapters/stream-records.js';
import { DEFAULT_PLANNER, ShardPlanner } from '../domain/hot-shards.js';
import type { ChangeRecord, DerivationStep } from '../ports/derivation.js';
import { CheckpointStep } from '../use-cases/checkpoint-log.js';
import type { DeriveDependencies } from '../use-cases/derive-changes.js';
import type { ServiceConfig } from './config.js';
import { coreServices } from './dynamodb.js';
import { perConfig } from './memo.js';
import { checkpointDependencies, hasCheckpointSigner } from './tlog.js';

/**
 * The events table's stream consumer: the journal and the derivation steps, in the order they run
 * over each chunk: rollup counters, the verifiable log's sequencer, then its checkpoints (when a
 * signing key is configured).
 */
export const derivationDependencies = /* @__PURE__ */ perConfig(
  (config: ServiceConfig): DeriveDependencies => {
    const { doc, shardPlans } = coreServices(config);
    const controlTable = config.CONTROL_TABLE;
    const planner = new ShardPlanner({
      ...DEFAULT_PLANNER,
      targetUnitsPerKey: config.HOT_TENANT_UNITS_PER_KEY,
    });
    const journal = new DynamoDbDerivationJournal(doc, { controlTable });
    const steps: DerivationStep[] = [
      new DynamoDbCounterStep(doc, { controlTable, shardPlans, planShards: { planner, store: shardPlans } }),
      new DynamoDbSequencerStep(doc, { controlTable }),
    ];
    if (hasCheckpointSigner(config)) {
      const tenantOf = (record: ChangeRecord) => insertedEntry(record)?.tenant;
      steps.push(new CheckpointStep(checkpointDependencies(config), journal, tenantOf));
    }
    return { journal, steps };
  },
);

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
