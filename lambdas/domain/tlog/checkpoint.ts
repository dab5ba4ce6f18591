import type { Hash } from './merkle.js';
import { NoteError, type NoteSigner, type NoteVerifier, openNote, signNote } from './note.js';

/**
 * C2SP checkpoints (https://c2sp.org/tlog-checkpoint): the signed statement "the log named <origin> has
 * <size> leaves and this root hash". The body is three lines (origin, decimal size, base64 root), then
 * optional extension lines, then the signed-note signatures.
 */
export interface Checkpoint {
  /** The log's unique name, e.g. `audit-trail.example.com/acme`. */
  readonly origin: string;
  readonly size: number;
  readonly root: Hash;
  /** Extra lines the log adds (e.g. a timestamp); signed with the rest. */
  readonly extensions: readonly string[];
}

/** The checkpoint's note text (unsigned body). */
export const checkpointText = (checkpoint: Checkpoint): string => {
  if (!checkpoint.origin || /[\n\r]/.test(checkpoint.origin))
    throw new NoteError('origin must be one non-empty line');
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0)
    throw new NoteError('size must be a count');
  if (checkpoint.root.length !== 32) throw new NoteError('root must be a SHA-256 hash');
  for (const line of checkpoint.extensions) {
    if (!line || /[\n\r]/.test(line)) throw new NoteError('an extension is one non-empty line');
  }
  const lines = [checkpoint.origin, String(checkpoint.size), Buffer.from(checkpoint.root).toString('base64')];
  return `${[...lines, ...checkpoint.extensions].join('\n')}\n`;
};

/** Signs a checkpoint into its signed-note text. */
export const signCheckpoint = (checkpoint: Checkpoint, signers: readonly NoteSigner[]): Promise<string> =>
  signNote(checkpointText(checkpoint), signers);

/** Parses a checkpoint body (no signatures). */
export const parseCheckpointText = (text: string): Checkpoint => {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new NoteError('checkpoint must end with a newline');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!origin || sizeText === undefined || rootText === undefined)
    throw new NoteError('checkpoint has fewer than 3 lines');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw new NoteError('checkpoint size is not a decimal count');
  }
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootText)
    throw new NoteError('checkpoint root is not a base64 SHA-256');
  return { origin, size: Number(sizeText), root: new Uint8Array(root), extensions };
};

/**
 * Opens a signed checkpoint: verifies a signature by one of `verifiers` and, when `origin` is given, that
 * the checkpoint is of that log.
 */
export const openCheckpoint = (
  signed: string,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): Checkpoint => {
  const { text } = openNote(signed, verifiers);
  const checkpoint = parseCheckpointText(text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new NoteError(`checkpoint is of log "${checkpoint.origin}", not "${origin}"`);
  }
  return checkpoint;
};
