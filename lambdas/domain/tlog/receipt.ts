import type { Hash } from './merkle.js';
import { NoteError, type NoteSigner, type NoteVerifier, openNote, signNote } from './note.js';

/**
 * A purge receipt: the log's signed statement that the entries at some leaves were purged (deleted
 * by the tenant's purge or retention), so a verifier accepts their absence. The tree itself never
 * shrinks: the purged leaves stay as hashes. A C2SP signed note by the checkpoint key, whose second
 * line ("purge receipt") can never be read as a checkpoint's size:
 *
 *   <origin>
 *   purge receipt
 *   job <job id>
 *   through_id <the purge's newest id>
 *   count <entries purged>
 *   tree_size <tree size when the receipt was signed>
 *   root <base64 root of that tree>
 *   leaves <ranges of leaf indexes, "a-b" inclusive or "a", comma-separated>
 */
export interface PurgeReceipt {
  readonly origin: string;
  readonly jobId: string;
  readonly throughId: number;
  readonly count: number;
  readonly treeSize: number;
  readonly root: Hash;
  /** Purged leaf indexes, ascending. */
  readonly leaves: readonly number[];
}

const RECEIPT_LINE = 'purge receipt';

/** Leaf indexes (ascending) as ranges: [0,1,2,5] → "0-2,5"; none → "-". */
export const encodeRanges = (indexes: readonly number[]): string => {
  const parts: string[] = [];
  let start: number | undefined;
  let previous = -2;
  for (const index of indexes) {
    if (start !== undefined && index === previous + 1) {
      previous = index;
      continue;
    }
    if (start !== undefined) parts.push(start === previous ? `${start}` : `${start}-${previous}`);
    start = index;
    previous = index;
  }
  if (start !== undefined) parts.push(start === previous ? `${start}` : `${start}-${previous}`);
  return parts.length > 0 ? parts.join(',') : '-';
};

const decimal = (text: string | undefined, what: string): number => {
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new NoteError(`receipt ${what} is not a decimal count`);
  return Number(text);
};

/** Parses "0-2,5" back to [0,1,2,5]; refuses overlaps, descending ranges and anything else. */
export const decodeRanges = (text: string, limit: number): number[] => {
  if (text === '-') return [];
  const indexes: number[] = [];
  for (const part of text.split(',')) {
    const [from, to, ...rest] = part.split('-');
    if (rest.length > 0) throw new NoteError('receipt leaf range is malformed');
    const start = decimal(from, 'leaf');
    const end = to === undefined ? start : decimal(to, 'leaf');
    const last = indexes[indexes.length - 1];
    if (end < start || (last !== undefined && start <= last) || end >= limit)
      throw new NoteError('receipt leaf ranges must ascend within the tree');
    for (let index = start; index <= end; index += 1) indexes.push(index);
  }
  return indexes;
};

export const receiptText = (receipt: PurgeReceipt): string =>
  `${[
    receipt.origin,
    RECEIPT_LINE,
    `job ${receipt.jobId}`,
    `through_id ${receipt.throughId}`,
    `count ${receipt.count}`,
    `tree_size ${receipt.treeSize}`,
    `root ${Buffer.from(receipt.root).toString('base64')}`,
    `leaves ${encodeRanges(receipt.leaves)}`,
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
  if (lines.length !== 8 || lines[1] !== RECEIPT_LINE) throw new NoteError('not a purge receipt');
  const receiptOrigin = lines[0] ?? '';
  if (origin !== undefined && receiptOrigin !== origin)
    throw new NoteError(`receipt is of log "${receiptOrigin}", not "${origin}"`);
  const treeSize = decimal(field(5, 'tree_size'), 'tree_size');
  const root = Buffer.from(field(6, 'root'), 'base64');
  if (root.length !== 32) throw new NoteError('receipt root is not a SHA-256 hash');
  const leaves = decodeRanges(field(7, 'leaves'), treeSize);
  const count = decimal(field(4, 'count'), 'count');
  if (count !== leaves.length) throw new NoteError('receipt count does not match its leaves');
  return {
    origin: receiptOrigin,
    jobId: field(2, 'job'),
    throughId: decimal(field(3, 'through_id'), 'through_id'),
    count,
    treeSize,
    root: new Uint8Array(root),
    leaves,
  };
};
