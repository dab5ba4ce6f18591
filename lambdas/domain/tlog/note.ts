import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, the format of Go's sumdb and of
 * transparency-log checkpoints, so any tool that reads those reads ours.
 *
 * A note is UTF-8 text ending in a newline, then a blank line, then one line per signature:
 * `— <key name> <base64(key id ‖ signature)>`. The key id is the first 4 bytes of
 * SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). A verifier key is written `<name>+<hex key id>+<base64(0x01 ‖
 * public key)>`, and a signer key `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
 */

const ED25519 = 0x01;
const SIGNATURE_PREFIX = '— ';
/** DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A public key that checks signatures of one name. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** `<name>+<hex id>+<base64 key>`: what to publish. */
  readonly encoded: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** A key that signs notes under one name. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The matching verifier key, to publish. */
  readonly verifier: NoteVerifier;
  sign(message: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

/** Why a note was not accepted. */
export class NoteError extends Error {
  override readonly name = 'NoteError';
}

const isValidKeyName = (name: string): boolean => name.length > 0 && !/[\s+]/u.test(name);

/** The 4-byte key id of a key name and algorithm-prefixed public key, as an unsigned integer. */
export const keyIdOf = (name: string, prefixedKey: Uint8Array): number => {
  const digest = createHash('sha256').update(name).update('\n').update(prefixedKey).digest();
  return digest.readUInt32BE(0);
};

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

const rawPublicKey = (key: KeyObject): Buffer => key.export({ format: 'der', type: 'spki' }).subarray(-32);

const verifierFromRaw = (name: string, raw: Uint8Array): NoteVerifier => {
  const prefixed = Buffer.concat([Uint8Array.of(ED25519), raw]);
  const keyId = keyIdOf(name, prefixed);
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  return {
    name,
    keyId,
    encoded: `${name}+${hex8(keyId)}+${prefixed.toString('base64')}`,
    verify: (message, signature) => signature.length === 64 && verify(null, message, key, signature),
  };
};

/** Parses a verifier key `<name>+<hex id>+<base64(0x01 ‖ key)>`, checking that its id matches. */
export const parseVerifierKey = (encoded: string): NoteVerifier => {
  // Base64 may itself hold "+": the key is everything after the second separator.
  const [name, id, ...keyParts] = encoded.trim().split('+');
  const key = keyParts.join('+');
  if (!name || !id || !key || !isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(id)) {
    throw new NoteError('malformed verifier key: expected <name>+<8 hex digits>+<base64 key>');
  }
  const prefixed = Buffer.from(key, 'base64');
  if (prefixed.toString('base64') !== key || prefixed.length !== 33 || prefixed[0] !== ED25519) {
    throw new NoteError('verifier key is not a base64 Ed25519 key');
  }
  const verifier = verifierFromRaw(name, prefixed.subarray(1));
  if (verifier.keyId !== Number.parseInt(id, 16))
    throw new NoteError('verifier key id does not match its key');
  return verifier;
};

/** A signer from an Ed25519 32-byte seed. */
export const signerFromSeed = (name: string, seed: Uint8Array): NoteSigner => {
  if (!isValidKeyName(name)) throw new NoteError('a key name is non-empty, with no spaces and no "+"');
  if (seed.length !== 32) throw new NoteError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const verifier = verifierFromRaw(name, rawPublicKey(createPublicKey(privateKey)));
  return {
    name,
    keyId: verifier.keyId,
    verifier,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
};

/** Parses a signer key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`. */
export const parseSignerKey = (encoded: string): NoteSigner => {
  const [private_, key_, name, id, ...seedParts] = encoded.trim().split('+');
  const seed = seedParts.join('+');
  if (private_ !== 'PRIVATE' || key_ !== 'KEY' || !name || !id || !seed) {
    throw new NoteError('malformed signer key: expected PRIVATE+KEY+<name>+<8 hex digits>+<base64 seed>');
  }
  const prefixed = Buffer.from(seed, 'base64');
  if (prefixed.length !== 33 || prefixed[0] !== ED25519)
    throw new NoteError('signer key is not an Ed25519 seed');
  const signer = signerFromSeed(name, prefixed.subarray(1));
  if (hex8(signer.keyId) !== id) throw new NoteError('signer key id does not match its key');
  return signer;
};

/** Encodes a signer key (the private half: keep it secret). */
export const encodeSignerKey = (name: string, seed: Uint8Array): string => {
  const signer = signerFromSeed(name, seed);
  return `PRIVATE+KEY+${name}+${hex8(signer.keyId)}+${Buffer.concat([Uint8Array.of(ED25519), seed]).toString('base64')}`;
};

/** A signer that delegates the signature (a KMS key, an HSM): the caller supplies the public key. */
export const externalSigner = (
  name: string,
  publicKey: Uint8Array,
  signRaw: (message: Uint8Array) => Promise<Uint8Array>,
): NoteSigner => {
  const verifier = verifierFromRaw(name, publicKey);
  return { name, keyId: verifier.keyId, verifier, sign: signRaw };
};

const checkText = (text: string): void => {
  if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
  if (text.includes('\r')) throw new NoteError('note text must not contain carriage returns');
  if (text.includes('\n\n')) throw new NoteError('note text must not contain blank lines');
};

/** Signs `text` with every signer: the text, a blank line, and one signature line per signer. */
export const signNote = async (text: string, signers: readonly NoteSigner[]): Promise<string> => {
  checkText(text);
  const message = Buffer.from(text, 'utf8');
  const lines = await Promise.all(
    signers.map(async (signer) => {
      const id = Buffer.alloc(4);
      id.writeUInt32BE(signer.keyId);
      const signature = Buffer.from(await signer.sign(message));
      return `${SIGNATURE_PREFIX}${signer.name} ${Buffer.concat([id, signature]).toString('base64')}\n`;
    }),
  );
  return `${text}\n${lines.join('')}`;
};

/** A note whose text was signed by at least one known key. */
export interface OpenedNote {
  readonly text: string;
  /** Names of the known keys whose signatures verified. */
  readonly verifiedBy: readonly string[];
}

/**
 * Opens a signed note: returns its text once at least one signature by a known key verifies. A signature
 * by a known key name and id that does not verify is an error (a forgery), not an unknown signature.
 */
export const openNote = (note: string, verifiers: readonly NoteVerifier[]): OpenedNote => {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('not a signed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  checkText(text);
  const signatureBlock = note.slice(split + 2);
  if (!signatureBlock.endsWith('\n')) throw new NoteError('signature block must end with a newline');
  const message = Buffer.from(text, 'utf8');
  const verifiedBy: string[] = [];
  for (const line of signatureBlock.slice(0, -1).split('\n')) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new NoteError('malformed signature line');
    const [name, encoded, ...rest] = line.slice(SIGNATURE_PREFIX.length).split(' ');
    if (!name || !encoded || rest.length > 0) throw new NoteError('malformed signature line');
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.toString('base64') !== encoded || bytes.length < 5) throw new NoteError('malformed signature');
    const keyId = bytes.readUInt32BE(0);
    const verifier = verifiers.find((candidate) => candidate.name === name && candidate.keyId === keyId);
    if (!verifier) continue;
    if (!verifier.verify(message, bytes.subarray(4))) throw new NoteError(`invalid signature by ${name}`);
    verifiedBy.push(name);
  }
  if (verifiedBy.length === 0) throw new NoteError('no signature by a known key');
  return { text, verifiedBy };
};
