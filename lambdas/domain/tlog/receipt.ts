import type { Hash } from './merkle.js';
import { NoteError, type NoteSigner, type NoteVerifier, openNote, signNote } from './note.js';

/**
 * A purge receipt: the log's signed statement that the entries with these leaf hashes were purged
 * (deleted by the tenant's purge or retention), so a verifier accepts their leaves without entries.
 * The tree itself never shrinks: purged leaves stay as hashes. One receipt per purge segment (at
 * most 1,000 entries), signed before the segment's entries are deleted. Leaves are named by hash,
 * not index, so an entry purged before the sequencer reached it is covered wherever its leaf lands.
 * A C2SP signed note by the checkpoint key, whose second line ("purge receipt") can never be read
 * as a checkpoint's size:
 *
 *   <origin>
 *   purge receipt
 *   job <job id>
 *   segment <the segment's last entry id>
 *   through_id <the purge's newest id>
 *   count <entries in the segment>
 *   tree_size <the tree's size when signed (informational)>
 *   leaf <base64 leaf hash>          (count lines)
 */
export interface PurgeReceipt {
  readonly origin: string;
  readonly jobId: string;
  readonly segment: number;
  readonly throughId: number;
  readonly treeSize: number;
  /** The purged entries' leaf hashes. */
  readonly leaves: readonly Hash[];
}

const RECEIPT_LINE = 'purge receipt';
const HEADER_LINES = 7;

const decimal = (text: string, what: string): number => {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new NoteError(`receipt ${what} is not a decimal count`);
  return Number(text);
};

export const receiptText = (receipt: PurgeReceipt): string =>
  `${[
    receipt.origin,
    RECEIPT_LINE,
    `job ${receipt.jobId}`,
    `segment ${receipt.segment}`,
    `through_id ${receipt.throughId}`,
    `count ${receipt.leaves.length}`,
    `tree_size ${receipt.treeSize}`,
    ...receipt.leaves.map((leaf) => `leaf ${Buffer.from(leaf).toString('base64')}`),
  ].join('\n')}\n`;

export const signReceipt = (receipt: PurgeReceipt, signers: readonly NoteSigner[]): Promise<string> => {
  if (/\s/.test(receipt.jobId) || receipt.jobId.length === 0) throw new NoteError('job id must be one word');
  return signNote(receiptText(receipt), signers);
};

/** Opens a signed receipt: its signature by one of `verifiers`, its origin, and its fields. */
export const openReceipt = (
  signed: string,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): PurgeReceipt => {
  const { text } = openNote(signed, verifiers);
  const lines = text.slice(0, -1).split('\n');
  const field = (position: number, name: string): string => {
    const line = lines[position] ?? '';
    if (!line.startsWith(`${name} `)) throw new NoteError(`receipt has no ${name} line`);
    return line.slice(name.length + 1);
  };
  if (lines.length < HEADER_LINES || lines[1] !== RECEIPT_LINE) throw new NoteError('not a purge receipt');
  const receiptOrigin = lines[0] ?? '';
  if (origin !== undefined && receiptOrigin !== origin)
    throw new NoteError(`receipt is of log "${receiptOrigin}", not "${origin}"`);
  const count = decimal(field(5, 'count'), 'count');
  if (lines.length !== HEADER_LINES + count) throw new NoteError('receipt count does not match its leaves');
  const leaves = lines.slice(HEADER_LINES).map((_, offset) => {
    const leaf = Buffer.from(field(HEADER_LINES + offset, 'leaf'), 'base64');
    if (leaf.length !== 32) throw new NoteError('receipt leaf is not a SHA-256 hash');
    return new Uint8Array(leaf);
  });
  return {
    origin: receiptOrigin,
    jobId: field(2, 'job'),
    segment: decimal(field(3, 'segment'), 'segment'),
    throughId: decimal(field(4, 'through_id'), 'through_id'),
    treeSize: decimal(field(6, 'tree_size'), 'tree_size'),
    leaves,
  };
};
