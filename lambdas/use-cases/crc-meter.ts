import { Transform } from 'node:stream';
import { crc32 } from 'node:zlib';

/** A pass-through that counts what goes through it: the CRC-32 and size a zip entry records. */
export interface CrcMeter {
  readonly stream: Transform;
  /** The CRC-32 of the bytes passed so far. */
  crc(): number;
  /** The bytes passed so far. */
  bytes(): number;
}

/** Measures an entry's uncompressed bytes on their way to deflate (both zip writers use it). */
export const crcMeter = (): CrcMeter => {
  let crc = 0;
  let bytes = 0;
  const stream = new Transform({
    transform(piece: Buffer, _encoding, callback) {
      crc = crc32(piece, crc);
      bytes += piece.length;
      callback(null, piece);
    },
  });
  return { stream, crc: () => crc, bytes: () => bytes };
};
