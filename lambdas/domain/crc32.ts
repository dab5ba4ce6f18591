/**
 * CRC-32 combination (the method of zlib's `crc32_combine`, 1.2.12 and later): the CRC of A‖B from
 * crc(A), crc(B) and B's length, without the bytes. Parallel export chunks compute their own CRCs;
 * the zip needs the CRC of their concatenation.
 *
 * CRCs are polynomials over GF(2) in reflected bit order; appending `n` bytes multiplies by x^(8n)
 * modulo the CRC polynomial, so crc(A‖B) = crc(A)·x^(8·len(B)) mod p ⊕ crc(B).
 */

/** The reflected CRC-32 polynomial (IEEE 802.3, as zip uses). */
const POLY = 0xedb88320;

/** a·b modulo p, reflected (bit 31 is x^0). */
const multiplyModP = (a: number, b: number): number => {
  let m = 0x80000000;
  let p = 0;
  let factor = b >>> 0;
  if (a === 0) return 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= factor;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    factor = factor & 1 ? (factor >>> 1) ^ POLY : factor >>> 1;
  }
  return p >>> 0;
};

/** x^(2^k) modulo p for k = 0..31. */
const X2N: readonly number[] = (() => {
  const table: number[] = [];
  let p = 0x40000000; // x^1
  table.push(p);
  for (let k = 1; k < 32; k += 1) {
    p = multiplyModP(p, p);
    table.push(p);
  }
  return table;
})();

/** x^(n·2^k) modulo p; `n` may be any safe integer (no 32-bit operators on it). */
const x2nModP = (n: number, k: number): number => {
  let p = 0x80000000; // x^0
  let rest = n;
  let bit = k;
  while (rest > 0) {
    if (rest % 2 === 1) p = multiplyModP(X2N[bit & 31] ?? 0, p);
    rest = Math.floor(rest / 2);
    bit += 1;
  }
  return p;
};

/**
 * The CRC-32 of A‖B, given `crcA` = crc32(A), `crcB` = crc32(B) and `lengthB` = B's length in bytes
 * (any safe integer, so parts past 4 GiB combine too).
 *
 * @example crc32Combine(crc32(a), crc32(b), b.length) === crc32(Buffer.concat([a, b]))
 */
export const crc32Combine = (crcA: number, crcB: number, lengthB: number): number => {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`bad length ${lengthB}`);
  return (multiplyModP(x2nModP(lengthB, 3), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
};
