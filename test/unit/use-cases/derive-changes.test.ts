import fc from 'fast-check';
import type {
  ChangeRecord,
  ChunkPacker,
  DerivationJournal,
  DerivationStep,
  JointCommit,
  JournalEntry,
} from '../../../lambdas/ports/derivation.js';
import { deriveChanges } from '../../../lambdas/use-cases/derive-changes.js';

/** A process that died: every call it makes afterwards fails, and nothing it would still do happens. */
class Crash extends Error {}

/** The journal and the steps' effects, in memory, with faults the test decides. */
class World {
  readonly entries = new Map<string, readonly string[]>();
  readonly applied = new Map<string, Map<string, number>>();
  dead = false;
  /** Called before each write; may throw a transient error or kill the process. */
  fault: (when: 'before' | 'after') => void = () => {};

  journal(): DerivationJournal {
    return {
      find: async (step, eventId) => {
        if (this.dead) throw new Crash();
        return this.entries.get(`${step}#${eventId}`);
      },
      alias: async (entry) => {
        if (this.dead) throw new Crash();
        this.fault('before');
        this.entries.set(`${entry.step}#${entry.key}`, entry.members);
      },
    };
  }

  /** One atomic write of several steps' chunks, as DynamoDbJointCommit does; false when one is applied. */
  joint(): JointCommit {
    return {
      apply: async (parts) => {
        if (this.dead) throw new Crash();
        this.fault('before');
        if (parts.some(({ entry }) => this.entries.has(`${entry.step}#${entry.key}`))) return false;
        for (const { entry, chunk } of parts) {
          this.entries.set(`${entry.step}#${entry.key}`, entry.members);
          const counts = this.applied.get(entry.step) ?? new Map<string, number>();
          for (const record of chunk) counts.set(record.eventId, (counts.get(record.eventId) ?? 0) + 1);
          this.applied.set(entry.step, counts);
        }
        this.joints += 1;
        this.fault('after');
        return true;
      },
    };
  }

  joints = 0;

  step(name: string, limit: number): DerivationStep {
    return {
      name,
      packer: (): ChunkPacker => {
        let size = 0;
        return {
          add: () => {
            if (size >= limit) return false;
            size += 1;
            return true;
          },
        };
      },
      apply: async (chunk: readonly ChangeRecord[], entry: JournalEntry) => {
        if (this.dead) throw new Crash();
        this.fault('before');
        const key = `${entry.step}#${entry.key}`;
        if (this.entries.has(key)) return 'duplicate';
        this.entries.set(key, entry.members);
        const counts = this.applied.get(name) ?? new Map<string, number>();
        for (const record of chunk) counts.set(record.eventId, (counts.get(record.eventId) ?? 0) + 1);
        this.applied.set(name, counts);
        this.fault('after');
        return 'applied';
      },
    };
  }
}

const records = (count: number): ChangeRecord[] =>
  Array.from({ length: count }, (_, index) => ({
    eventId: `e${index}`,
    sequenceNumber: String(1000 + index).padStart(21, '0'),
    kind: 'insert' as const,
  }));

/**
 * Lambda's event source mapping, reduced to what matters here: batches from the checkpoint, a
 * partial batch response moves the checkpoint to the named record, and a function error retries
 * the batch split in two (bisect on error) until each half succeeds.
 */
const runShard = async (
  world: World,
  deps: () => { journal: DerivationJournal; steps: DerivationStep[]; joint?: JointCommit },
  shard: readonly ChangeRecord[],
  batchSize: number,
  maxInvocations = 10_000,
): Promise<number> => {
  let invocations = 0;
  const deliver = async (batch: readonly ChangeRecord[]): Promise<number> => {
    for (;;) {
      invocations += 1;
      if (invocations > maxInvocations) throw new Error('too many invocations');
      world.dead = false;
      try {
        const outcome = await deriveChanges(deps(), batch);
        // A process that died never answered, whatever the code would have returned.
        if (world.dead) throw new Crash();
        if (outcome.resumeAt === undefined) return batch.length;
        return batch.findIndex((record) => record.sequenceNumber === outcome.resumeAt);
      } catch {
        if (batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          const first = await deliver(batch.slice(0, half));
          if (first < half) return first;
          return half + (await deliver(batch.slice(half)));
        }
      }
    }
  };
  let checkpoint = 0;
  while (checkpoint < shard.length)
    checkpoint += await deliver(shard.slice(checkpoint, checkpoint + batchSize));
  return invocations;
};

describe('deriveChanges applies every record exactly once per step', () => {
  it('applies a clean batch once, in chunks, and skips it entirely when it is delivered again', async () => {
    const world = new World();
    const deps = { journal: world.journal(), steps: [world.step('counters', 7), world.step('log', 5)] };
    const batch = records(23);
    expect(await deriveChanges(deps, batch)).toEqual({ skipped: { counters: 0, log: 0 } });
    expect(await deriveChanges(deps, batch)).toEqual({ skipped: { counters: 23, log: 23 } });
    for (const name of ['counters', 'log']) {
      expect([...(world.applied.get(name)?.values() ?? [])]).toEqual(new Array(23).fill(1));
    }
    // Each step packs chunks of its own: 23 records in 4 chunks of at most 7, and in 5 of at most 5.
    expect(world.entries.size).toBe(9);
  });

  it('chunks a step to its own most records, else to 100', async () => {
    const world = new World();
    const whole = { ...world.step('log', Number.POSITIVE_INFINITY), maxChunkRecords: 500 };
    const deps = {
      journal: world.journal(),
      steps: [world.step('counters', Number.POSITIVE_INFINITY), whole],
    };
    expect(await deriveChanges(deps, records(320))).toEqual({ skipped: { counters: 0, log: 0 } });
    const chunks = [...world.entries].map(([key, members]) => [key.split('#')[0], members.length]);
    // The steps run side by side: their entries interleave.
    expect(chunks.sort()).toEqual([
      ['counters', 100],
      ['counters', 100],
      ['counters', 100],
      ['counters', 20],
      ['log', 320],
    ]);
  });

  it('commits a delivery every step takes whole in one joint write, and no other', async () => {
    const world = new World();
    const deps = {
      journal: world.journal(),
      steps: [world.step('counters', 10), world.step('log', 20)],
      joint: world.joint(),
    };
    expect(await deriveChanges(deps, records(8))).toEqual({ skipped: { counters: 0, log: 0 } });
    expect(world.joints).toBe(1);
    // 15 records: the counters take 10 and then 5, the log all 15; each applies its own.
    const more = records(23).slice(8);
    expect(await deriveChanges(deps, more)).toEqual({ skipped: { counters: 0, log: 0 } });
    expect(world.joints).toBe(1);
    for (const name of ['counters', 'log'])
      expect([...(world.applied.get(name)?.values() ?? [])]).toEqual(new Array(23).fill(1));
  });

  it('lets each step apply its chunk when the joint write fails, or finds it applied', async () => {
    for (const failing of ['before', 'after'] as const) {
      const world = new World();
      let first = true;
      world.fault = (when) => {
        if (when === failing && first) {
          first = false;
          throw new Error(`lost ${failing} the commit`);
        }
      };
      const deps = {
        journal: world.journal(),
        steps: [world.step('counters', 10), world.step('log', 10)],
        joint: world.joint(),
      };
      const outcome = await deriveChanges(deps, records(6));
      expect(outcome.resumeAt).toBeUndefined();
      // Before: nothing was written, each step applied its own; after: each found its entry.
      expect(outcome.skipped).toEqual({ counters: 0, log: 0 });
      for (const name of ['counters', 'log'])
        expect([...(world.applied.get(name)?.values() ?? [])]).toEqual(new Array(6).fill(1));
    }
  });

  it('resumes at the chunk that failed and names its first record', async () => {
    const world = new World();
    let writes = 0;
    world.fault = (when) => {
      if (when === 'before' && ++writes === 3) throw new Error('throttled');
    };
    const deps = { journal: world.journal(), steps: [world.step('counters', 4)] };
    const batch = records(10);
    const outcome = await deriveChanges(deps, batch);
    expect(outcome.resumeAt).toBe(batch[8]?.sequenceNumber);
    expect(outcome.error).toBeInstanceOf(Error);
    expect(world.applied.get('counters')?.size).toBe(8);
    // The retry starts at the named record and applies only the rest.
    const retry = await deriveChanges(deps, batch.slice(8));
    expect(retry).toEqual({ skipped: { counters: 0 } });
    expect([...(world.applied.get('counters')?.values() ?? [])]).toEqual(new Array(10).fill(1));
  });

  it('a bisected half that ends inside an applied chunk leaves an alias where the next half starts', async () => {
    const world = new World();
    const deps = { journal: world.journal(), steps: [world.step('counters', 10)] };
    const batch = records(10);
    await deriveChanges(deps, batch);
    // The same batch comes back split at 4 (the function had crashed after applying it).
    expect(await deriveChanges(deps, batch.slice(0, 4))).toEqual({ skipped: { counters: 4 } });
    expect(world.entries.get('counters#e4')).toEqual(['e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    expect(await deriveChanges(deps, batch.slice(4))).toEqual({ skipped: { counters: 6 } });
    expect([...(world.applied.get('counters')?.values() ?? [])]).toEqual(new Array(10).fill(1));
  });

  it('double-counts nothing when a crash after a chunk makes Lambda bisect the batch', async () => {
    const world = new World();
    let applies = 0;
    world.fault = (when) => {
      if (when === 'after' && ++applies === 1) {
        world.dead = true;
        throw new Crash();
      }
    };
    const deps = () => ({ journal: world.journal(), steps: [world.step('counters', 6)] });
    const shard = records(8);
    const invocations = await runShard(world, deps, shard, 8);
    expect(invocations).toBeGreaterThan(2);
    const counts = world.applied.get('counters');
    expect(shard.map((record) => counts?.get(record.eventId) ?? 0)).toEqual(new Array(8).fill(1));
  });

  it('holds under random crashes, transient failures, redelivery and bisection (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 50, maxLength: 50 }),
        fc.boolean(),
        async (count, batchSize, limitA, limitB, dice, jointly) => {
          const world = new World();
          let roll = 0;
          let faults = 0;
          // Faults become rarer as they happen, so every run ends.
          world.fault = (when) => {
            const value = dice[roll++ % dice.length] as number;
            if (value < Math.max(0, 25 - faults * 3)) {
              faults += 1;
              if (when === 'after' || value % 2 === 0) {
                world.dead = true;
                throw new Crash();
              }
              throw new Error('transient');
            }
          };
          const deps = () => ({
            journal: world.journal(),
            steps: [world.step('counters', limitA), world.step('log', limitB)],
            ...(jointly ? { joint: world.joint() } : {}),
          });
          const shard = records(count);
          await runShard(world, deps, shard, batchSize);
          for (const name of ['counters', 'log']) {
            const counts = world.applied.get(name) ?? new Map<string, number>();
            expect(shard.map((record) => counts.get(record.eventId) ?? 0)).toEqual(new Array(count).fill(1));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
