import {
  type ChangeRecord,
  type DeliveryFollowUp,
  type DerivationJournal,
  type DerivationStep,
  type JointCommit,
  type JournalEntry,
  MAX_CHUNK_RECORDS,
} from '../ports/derivation.js';

export interface DeriveDependencies {
  readonly journal: DerivationJournal;
  readonly steps: readonly DerivationStep[];
  /** Run once per delivery after its chunks, over the records every step applied. */
  readonly followUps?: readonly DeliveryFollowUp[];
  /** Commits the steps' chunks together when each would take the same records (a small delivery). */
  readonly joint?: JointCommit;
}

/** What became of a batch: everything applied, or where a retry must resume. */
export interface DeriveOutcome {
  /** The sequence number of the first record not applied by every step; none when all were. */
  readonly resumeAt?: string;
  /** Records each step skipped because an earlier delivery had applied them. */
  readonly skipped: Readonly<Record<string, number>>;
  readonly error?: unknown;
}

/** Where a step's knowledge of a record comes from: the journal entry that holds it. */
interface Holding {
  readonly members: readonly string[];
  readonly index: number;
}

/**
 * Applies one delivery of stream records (one shard's records, in order) to every step, exactly
 * once per record whatever the delivery: a redelivered batch, a bisected half, or a batch resumed
 * from a partial failure.
 *
 * Why this is exact: a stream shard is an ordered sequence and every delivery resumes at a record
 * where an earlier one stopped, so the records a step applied form a prefix of what it was handed,
 * tiled by journal entries, each written atomically with its effects. A step walks the journal
 * from the delivery's first record, entry by entry, and skips what the entries hold; at the first
 * miss, nothing later can have been applied. Wherever a delivery stops inside an entry (its last
 * record, or a failure), an alias entry is written at the next record, so the next delivery, which
 * starts there, finds it.
 */
export const deriveChanges = async (
  deps: DeriveDependencies,
  records: readonly ChangeRecord[],
): Promise<DeriveOutcome> => {
  const holdings = deps.steps.map(() => new Map<string, Holding>());
  const appliedUpTo = await Promise.all(
    deps.steps.map((step, s) =>
      appliedPrefix(deps.journal, step, records, holdings[s] as Map<string, Holding>),
    ),
  );
  const skipped: Record<string, number> = {};
  for (const [s, step] of deps.steps.entries()) skipped[step.name] = appliedUpTo[s] as number;

  // Records some step held applied already: an earlier delivery's, not this one's.
  const earlier = Math.max(0, ...appliedUpTo);
  await applyJointly(deps, records, appliedUpTo, holdings);
  // The steps run side by side, each in chunks of its own (as many records as one atomic write of
  // that step holds): a step with few writes per record is not cut to the chunks of one with many.
  // A step that fails stops there; the others go on, and the delivery resumes where the least got.
  let failure: { error: unknown } | undefined;
  await Promise.all(
    deps.steps.map(async (step, s) => {
      try {
        await applyStep(step, records, appliedUpTo, s, holdings[s] as Map<string, Holding>);
      } catch (error) {
        failure ??= { error };
      }
    }),
  );
  const position = Math.min(...appliedUpTo, records.length);
  await aliasAt(deps, holdings, records, position);
  if (failure) {
    const followUpError = await followUp(deps, records.slice(0, position), earlier);
    // A failed follow-up hands the whole delivery back, so that it runs again over all of it.
    const resumeAt = (records[followUpError === undefined ? position : 0] as ChangeRecord).sequenceNumber;
    return { resumeAt, skipped, error: failure.error };
  }
  const followUpError = await followUp(deps, records, earlier);
  if (followUpError !== undefined) {
    return { resumeAt: (records[0] as ChangeRecord).sequenceNumber, skipped, error: followUpError.error };
  }
  return { skipped };
};

/** The journal entry of `step`'s chunk. */
const entryOf = (step: DerivationStep, chunk: readonly ChangeRecord[]): JournalEntry => ({
  step: step.name,
  key: (chunk[0] as ChangeRecord).eventId,
  members: chunk.map((record) => record.eventId),
});

/**
 * When every step starts at the same record and its first chunk would end at the same record too
 * (a delivery small enough for each step to take whole), applies those chunks in one joint commit.
 * Anything short of a commit of them all leaves the steps to apply their chunks on their own.
 */
const applyJointly = async (
  deps: DeriveDependencies,
  records: readonly ChangeRecord[],
  appliedUpTo: number[],
  holdings: readonly Map<string, Holding>[],
): Promise<void> => {
  const start = appliedUpTo[0] as number;
  if (!deps.joint || deps.steps.length < 2 || start >= records.length) return;
  if (appliedUpTo.some((applied) => applied !== start)) return;
  const ends = deps.steps.map((step) => chunkEnd(step, records, start));
  const end = ends[0] as number;
  if (ends.some((other) => other !== end)) return;
  const chunk = records.slice(start, end);
  const parts = deps.steps.map((step) => ({ step, chunk, entry: entryOf(step, chunk) }));
  try {
    if (!(await deps.joint.apply(parts))) return;
  } catch {
    // As if it did not fit: each step applies its chunk on its own, and its journal entry says
    // whether the failed write had applied it.
    return;
  }
  for (const [s, part] of parts.entries()) {
    for (const [index, record] of chunk.entries())
      holdings[s]?.set(record.eventId, { members: part.entry.members, index });
    appliedUpTo[s] = end;
  }
};

/** Applies `step` to the records from where it got to, chunk by chunk (each with its journal entry). */
const applyStep = async (
  step: DerivationStep,
  records: readonly ChangeRecord[],
  appliedUpTo: number[],
  s: number,
  holding: Map<string, Holding>,
): Promise<void> => {
  let from = appliedUpTo[s] as number;
  while (from < records.length) {
    const end = chunkEnd(step, records, from);
    const chunk = records.slice(from, end);
    const entry = entryOf(step, chunk);
    await step.apply(chunk, entry);
    for (const [index, record] of chunk.entries())
      holding.set(record.eventId, { members: entry.members, index });
    appliedUpTo[s] = end;
    from = end;
  }
};

/** Runs the follow-ups over the applied records; what one of them threw, if it did. */
const followUp = async (
  deps: DeriveDependencies,
  applied: readonly ChangeRecord[],
  earlier: number,
): Promise<{ error: unknown } | undefined> => {
  if (applied.length === 0) return undefined;
  for (const one of deps.followUps ?? []) {
    try {
      await one.run(applied, Math.min(earlier, applied.length));
    } catch (error) {
      return { error };
    }
  }
  return undefined;
};

/** How many leading records the journal says `step` applied already. */
const appliedPrefix = async (
  journal: DerivationJournal,
  step: DerivationStep,
  records: readonly ChangeRecord[],
  holding: Map<string, Holding>,
): Promise<number> => {
  let position = 0;
  while (position < records.length) {
    const members = await journal.find(step.name, (records[position] as ChangeRecord).eventId);
    if (!members) break;
    let index = 0;
    while (
      position < records.length &&
      index < members.length &&
      (records[position] as ChangeRecord).eventId === members[index]
    ) {
      holding.set(members[index] as string, { members, index });
      position += 1;
      index += 1;
    }
    // An entry that does not continue the records (it should always) ends the walk: the records
    // from here are treated as new only if they are not held, which the next lookup decides.
    if (index === 0) break;
  }
  return position;
};

/** The end (exclusive) of `step`'s chunk starting at `start`: as long as its packer takes records. */
const chunkEnd = (step: DerivationStep, records: readonly ChangeRecord[], start: number): number => {
  const packer = step.packer();
  const most = step.maxChunkRecords ?? MAX_CHUNK_RECORDS;
  let end = start;
  while (end < records.length && end - start < most) {
    // A record too big for an empty chunk still goes alone: the step's write reports it.
    if (!packer.add(records[end] as ChangeRecord) && end > start) break;
    end += 1;
  }
  return end;
};

/**
 * Before a delivery stops at `position`, makes sure the next delivery (which starts there) finds,
 * for each step, the entry holding the record at `position` under that record's own id.
 */
const aliasAt = async (
  deps: DeriveDependencies,
  holdings: readonly Map<string, Holding>[],
  records: readonly ChangeRecord[],
  position: number,
): Promise<void> => {
  for (const [s, step] of deps.steps.entries()) {
    // Past the batch's end the next record's id is unknown here, but it is the member after the
    // last record in that record's entry, when the entry goes on.
    const last = records[position - 1];
    const atRecord = records[position];
    const held = atRecord
      ? holdings[s]?.get(atRecord.eventId)
      : last
        ? nextHeld(holdings[s]?.get(last.eventId))
        : undefined;
    if (!held || held.index === 0) continue;
    await deps.journal.alias({
      step: step.name,
      key: held.members[held.index] as string,
      members: held.members.slice(held.index),
    });
  }
};

const nextHeld = (held: Holding | undefined): Holding | undefined =>
  held && held.index + 1 < held.members.length ? { members: held.members, index: held.index + 1 } : undefined;
