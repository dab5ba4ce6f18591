import { BadRequestError, NotFoundError } from '../domain/errors.js';
import { openCheckpoint, parseCheckpointText } from '../domain/tlog/checkpoint.js';
import { consistencyProof, type Hash, inclusionProof } from '../domain/tlog/merkle.js';
import type { NoteVerifier } from '../domain/tlog/note.js';
import { tileNodeReader } from '../domain/tlog/tiles.js';
import type { StoredCheckpoint, TlogReader } from '../ports/tlog.js';

/** What the proof endpoints read: the tenant's log and the checkpoint key's public half. */
export interface TlogProofDependencies {
  readonly reader: TlogReader;
  readonly verifier: () => Promise<NoteVerifier>;
}

const b64 = (hash: Hash): string => Buffer.from(hash).toString('base64');

/** The tenant's latest signed checkpoint; 404 before its first entry is sequenced. */
export const latestCheckpoint = async (
  deps: TlogProofDependencies,
  tenant: string,
): Promise<StoredCheckpoint> => {
  const stored = await deps.reader.latestCheckpoint(tenant);
  if (!stored) throw new NotFoundError('This tenant has no checkpoint yet: no entry has been sequenced');
  return stored;
};

/** The checkpoint as the API answers it: the signed note and its fields. */
export const checkpointAnswer = async (deps: TlogProofDependencies, stored: StoredCheckpoint) => {
  const verifier = await deps.verifier();
  // Opened with the key, so a stored checkpoint that does not verify is never served as valid.
  const checkpoint = openCheckpoint(stored.note, [verifier]);
  return {
    origin: checkpoint.origin,
    tree_size: checkpoint.size,
    root_hash: b64(checkpoint.root),
    checkpoint: stored.note,
    key: verifier.encoded,
  };
};

/** A tree size the caller names, or the latest checkpoint's: never past what is checkpointed. */
const treeSize = async (
  deps: TlogProofDependencies,
  tenant: string,
  asked: number | undefined,
  field: string,
) => {
  const stored = await latestCheckpoint(deps, tenant);
  const latest = parseCheckpointText(stored.note.slice(0, stored.note.indexOf('\n\n') + 1)).size;
  if (asked === undefined) return latest;
  if (asked > latest)
    throw new BadRequestError(`${field} must be at most the latest checkpoint's size, ${latest}`, { field });
  return asked;
};

/** The inclusion proof of an entry in the tenant's tree of `size` leaves (default: the latest checkpoint's). */
export const entryInclusionProof = async (
  deps: TlogProofDependencies,
  tenant: string,
  entryId: number,
  size?: number,
) => {
  const treeSizeUsed = await treeSize(deps, tenant, size, 'tree_size');
  const index = await deps.reader.leafIndexOf(tenant, entryId);
  if (index === undefined) throw new NotFoundError(`Entry ${entryId} is not in this tenant's log (yet)`);
  if (index >= treeSizeUsed) {
    throw new NotFoundError(`Entry ${entryId} is leaf ${index}, not in the tree of ${treeSizeUsed} leaves`);
  }
  const read = tileNodeReader(deps.reader.tiles(tenant));
  const [leaf, proof] = await Promise.all([read(0, index), inclusionProof(read, index, treeSizeUsed)]);
  return {
    entry_id: entryId,
    leaf_index: index,
    tree_size: treeSizeUsed,
    leaf_hash: b64(leaf),
    proof: proof.map(b64),
  };
};

/** The consistency proof between two sizes of the tenant's tree (the second defaults to the latest checkpoint's). */
export const treeConsistencyProof = async (
  deps: TlogProofDependencies,
  tenant: string,
  first: number,
  second?: number,
) => {
  const secondUsed = await treeSize(deps, tenant, second, 'second');
  if (first > secondUsed)
    throw new BadRequestError(`first must be at most second (${secondUsed})`, { field: 'first' });
  const read = tileNodeReader(deps.reader.tiles(tenant));
  const proof = await consistencyProof(read, first, secondUsed);
  return { first, second: secondUsed, proof: proof.map(b64) };
};
