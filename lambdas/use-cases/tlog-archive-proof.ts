import type { ArchiveManifest } from '../domain/purge.js';
import {
  ARCHIVE_PROOF_FORMAT,
  type ArchiveProofHeader,
  archivePartProof,
} from '../domain/tlog/archive-proof.js';
import { parseCheckpointText } from '../domain/tlog/checkpoint.js';
import { entryLeafHash, tenantOrigin } from '../domain/tlog/entry-leaf.js';
import { sameHash } from '../domain/tlog/merkle.js';
import type { NoteVerifier } from '../domain/tlog/note.js';
import { tileNodeReader } from '../domain/tlog/tiles.js';
import type { ArchiveStore } from '../ports/archive-store.js';
import type { TlogReader } from '../ports/tlog.js';

/** What an archive's proof file is written from. */
export interface ArchiveProofDependencies {
  readonly reader: TlogReader;
  readonly archives: Pick<ArchiveStore, 'readPart' | 'writeProof'>;
  readonly verifier: () => Promise<NoteVerifier>;
  /** The service's log origin. */
  readonly origin: string;
}

/** The archive proof's lines, a part at a time (memory: one part's entries, as the purge itself). */
async function* archiveProofLines(
  deps: ArchiveProofDependencies,
  manifest: ArchiveManifest,
  checkpoint: string,
  verifier: NoteVerifier,
): AsyncGenerator<Buffer> {
  const { tenant, jobId } = manifest;
  const size = parseCheckpointText(checkpoint.slice(0, checkpoint.indexOf('\n\n') + 1)).size;
  const header: ArchiveProofHeader = {
    format: ARCHIVE_PROOF_FORMAT,
    origin: tenantOrigin(deps.origin, tenant),
    key: verifier.encoded,
    key_id: verifier.keyId.toString(16).padStart(8, '0'),
    checkpoint,
    tree_size: size,
    tenant,
    job_id: jobId,
  };
  yield Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  const tiles = deps.reader.tiles(tenant);
  for (const part of manifest.parts) {
    const records = await deps.archives.readPart(tenant, part);
    const advised = await deps.reader.leafIndexesOf(
      tenant,
      records.map((record) => record.id),
    );
    // An index counts only where the tree holds the entry's leaf (an entry changed since is not it).
    const leafAt = tileNodeReader(tiles);
    const indexes: number[] = [];
    for (const record of records) {
      const index = advised.get(record.id);
      const inTree =
        index !== undefined && index < size && sameHash(await leafAt(0, index), entryLeafHash(record));
      indexes.push(inTree ? index : -1);
    }
    // A reader per part: its tile cache lives as long as the part. Perfect subtrees inside the
    // checkpoint's tree never change, so tiles read now (wider, as the tree grew) hold them as signed.
    const line = await archivePartProof(part, indexes, size, tileNodeReader(tiles));
    yield Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
  }
  let receipts = 0;
  for await (const page of deps.reader.receipts(tenant, jobId)) {
    receipts += page.length;
    yield Buffer.from(page.map((receipt) => `${JSON.stringify({ receipt })}\n`).join(''), 'utf8');
  }
  yield Buffer.from(`${JSON.stringify({ end: { parts: manifest.parts.length, receipts } })}\n`, 'utf8');
}

/**
 * Writes a completed purge job's archive proof (`<job>.tlog-proof.jsonl`, see
 * `domain/tlog/archive-proof.ts`) against the tenant's latest checkpoint, streamed to the archive
 * store. Nothing when the tenant has no checkpoint (nothing was ever sequenced).
 */
export const writeArchiveProof = async (
  deps: ArchiveProofDependencies,
  manifest: ArchiveManifest,
): Promise<void> => {
  const [stored, verifier] = await Promise.all([
    deps.reader.latestCheckpoint(manifest.tenant),
    deps.verifier(),
  ]);
  if (!stored) return;
  await deps.archives.writeProof(
    manifest.tenant,
    manifest.jobId,
    archiveProofLines(deps, manifest, stored.note, verifier),
  );
};
