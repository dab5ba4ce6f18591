/**
 * The zip records both export paths write (PKWARE APPNOTE 6.3): the single-worker export around
 * each entry it deflates, a parallel export around its one deflate stream, so both give the same
 * kind of file (the layout yazl writes for a streamed entry): a local header with "sizes in a data
 * descriptor" (bit 3) and no extra field, the deflate data, a data descriptor (ZIP64 form when the
 * entry is ZIP64), then the central directory.
 *
 * ZIP64 (APPNOTE 4.5.3) is used when a size or offset reaches 0xFFFFFFFF, or when forced (tests):
 * the central directory then carries the ZIP64 extended information extra field and the end
 * records a ZIP64 end of central directory record and locator.
 */

const UTF8_NAME = 1 << 11;
const SIZES_IN_DATA_DESCRIPTOR = 1 << 3;
const VERSION_NEEDED = 20;
const VERSION_NEEDED_ZIP64 = 45;
/** Made by: 3 = Unix, 63 = spec 6.3 (as yazl). */
const VERSION_MADE_BY = (3 << 8) | 63;
const DEFLATE = 8;
const STORE = 0;
/** A regular file, rw-r--r--. */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;
const LIMIT_32 = 0xfffffffe;

/** The classic zip limit: any size or offset above it needs ZIP64. */
export const ZIP32_MAX = LIMIT_32;

/** One file as the central directory describes it. */
export interface ZipEntryRecord {
  readonly name: string;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  readonly mtime: Date;
  /** 8 (deflate) or 0 (stored). */
  readonly method: 8 | 0;
  /** Its local header said "sizes follow in a data descriptor". */
  readonly streamed: boolean;
}

/** Whether `entry` needs the ZIP64 form (or `force`). */
export const isZip64 = (
  entry: Pick<ZipEntryRecord, 'compressedSize' | 'uncompressedSize' | 'localHeaderOffset'>,
  force: boolean,
): boolean =>
  force ||
  entry.compressedSize > LIMIT_32 ||
  entry.uncompressedSize > LIMIT_32 ||
  entry.localHeaderOffset > LIMIT_32;

/** MS-DOS date and time (UTC, 2-second resolution, clamped to 1980–2107). */
export const dosDateTime = (date: Date): { time: number; date: number } => {
  const clamped = new Date(
    Math.min(Math.max(date.getTime(), Date.UTC(1980, 0, 1)), Date.UTC(2107, 11, 31, 23, 59, 58)),
  );
  return {
    time: (clamped.getUTCHours() << 11) | (clamped.getUTCMinutes() << 5) | (clamped.getUTCSeconds() >> 1),
    date:
      ((clamped.getUTCFullYear() - 1980) << 9) | ((clamped.getUTCMonth() + 1) << 5) | clamped.getUTCDate(),
  };
};

const writeUInt64 = (buffer: Buffer, value: number, offset: number): void => {
  buffer.writeBigUInt64LE(BigInt(value), offset);
};

/**
 * The local file header of a deflated entry whose CRC and sizes are not known yet (they follow
 * the data in a data descriptor): what the first chunk of a parallel export writes first.
 */
export const streamedLocalHeader = (name: string, mtime: Date): Buffer => {
  const fileName = Buffer.from(name, 'utf8');
  const header = Buffer.alloc(30);
  const { time, date } = dosDateTime(mtime);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(VERSION_NEEDED, 4);
  header.writeUInt16LE(UTF8_NAME | SIZES_IN_DATA_DESCRIPTOR, 6);
  header.writeUInt16LE(DEFLATE, 8);
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  // CRC and sizes: zero, they are in the data descriptor.
  header.writeUInt16LE(fileName.length, 26);
  header.writeUInt16LE(0, 28);
  return Buffer.concat([header, fileName]);
};

/** The local file header of an entry whose CRC and sizes are known (a small file written whole). */
export const completeLocalHeader = (entry: ZipEntryRecord): Buffer => {
  const fileName = Buffer.from(entry.name, 'utf8');
  const zip64 = entry.compressedSize > LIMIT_32 || entry.uncompressedSize > LIMIT_32;
  const extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
  if (zip64) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(16, 2);
    writeUInt64(extra, entry.uncompressedSize, 4);
    writeUInt64(extra, entry.compressedSize, 12);
  }
  const header = Buffer.alloc(30);
  const { time, date } = dosDateTime(entry.mtime);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, 4);
  header.writeUInt16LE(UTF8_NAME, 6);
  header.writeUInt16LE(entry.method === 8 ? DEFLATE : STORE, 8);
  header.writeUInt16LE(time, 10);
  header.writeUInt16LE(date, 12);
  header.writeUInt32LE(entry.crc32 >>> 0, 14);
  header.writeUInt32LE(zip64 ? 0xffffffff : entry.compressedSize, 18);
  header.writeUInt32LE(zip64 ? 0xffffffff : entry.uncompressedSize, 22);
  header.writeUInt16LE(fileName.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, fileName, extra]);
};

/** The data descriptor after a streamed entry's data (24 bytes in the ZIP64 form, else 16). */
export const dataDescriptor = (entry: ZipEntryRecord, forceZip64: boolean): Buffer => {
  const zip64 = isZip64(entry, forceZip64);
  const buffer = Buffer.alloc(zip64 ? 24 : 16);
  buffer.writeUInt32LE(0x08074b50, 0);
  buffer.writeUInt32LE(entry.crc32 >>> 0, 4);
  if (zip64) {
    writeUInt64(buffer, entry.compressedSize, 8);
    writeUInt64(buffer, entry.uncompressedSize, 16);
  } else {
    buffer.writeUInt32LE(entry.compressedSize, 8);
    buffer.writeUInt32LE(entry.uncompressedSize, 12);
  }
  return buffer;
};

const centralDirectoryRecord = (entry: ZipEntryRecord, forceZip64: boolean): Buffer => {
  const fileName = Buffer.from(entry.name, 'utf8');
  const zip64 = isZip64(entry, forceZip64);
  // Info-ZIP's universal timestamp (as yazl writes it): mtime in Unix seconds.
  const timestamp = Buffer.alloc(9);
  timestamp.writeUInt16LE(0x5455, 0);
  timestamp.writeUInt16LE(5, 2);
  timestamp.writeUInt8(0b11, 4);
  timestamp.writeUInt32LE(Math.min(0x7fffffff, Math.max(0, Math.floor(entry.mtime.getTime() / 1000))), 5);
  const extra64 = zip64 ? Buffer.alloc(28) : Buffer.alloc(0);
  if (zip64) {
    extra64.writeUInt16LE(0x0001, 0);
    extra64.writeUInt16LE(24, 2);
    writeUInt64(extra64, entry.uncompressedSize, 4);
    writeUInt64(extra64, entry.compressedSize, 12);
    writeUInt64(extra64, entry.localHeaderOffset, 20);
  }
  const record = Buffer.alloc(46);
  const { time, date } = dosDateTime(entry.mtime);
  record.writeUInt32LE(0x02014b50, 0);
  record.writeUInt16LE(VERSION_MADE_BY, 4);
  record.writeUInt16LE(zip64 ? VERSION_NEEDED_ZIP64 : VERSION_NEEDED, 6);
  record.writeUInt16LE(UTF8_NAME | (entry.streamed ? SIZES_IN_DATA_DESCRIPTOR : 0), 8);
  record.writeUInt16LE(entry.method === 8 ? DEFLATE : STORE, 10);
  record.writeUInt16LE(time, 12);
  record.writeUInt16LE(date, 14);
  record.writeUInt32LE(entry.crc32 >>> 0, 16);
  record.writeUInt32LE(zip64 ? 0xffffffff : entry.compressedSize, 20);
  record.writeUInt32LE(zip64 ? 0xffffffff : entry.uncompressedSize, 24);
  record.writeUInt16LE(fileName.length, 28);
  record.writeUInt16LE(timestamp.length + extra64.length, 30);
  record.writeUInt16LE(0, 32);
  record.writeUInt16LE(0, 34);
  record.writeUInt16LE(0, 36);
  record.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  record.writeUInt32LE(zip64 ? 0xffffffff : entry.localHeaderOffset, 42);
  return Buffer.concat([record, fileName, timestamp, extra64]);
};

/**
 * The central directory of `entries` starting at byte `offset`, and the end records: a ZIP64 end of
 * central directory record and locator when any entry, the directory's offset or its size needs
 * ZIP64 (or `forceZip64`), then the classic end record.
 */
export const centralDirectory = (
  entries: readonly ZipEntryRecord[],
  offset: number,
  forceZip64: boolean,
): Buffer => {
  const records = Buffer.concat(entries.map((entry) => centralDirectoryRecord(entry, forceZip64)));
  const zip64 =
    forceZip64 ||
    entries.length >= 0xffff ||
    offset > LIMIT_32 ||
    records.length > LIMIT_32 ||
    entries.some((entry) => isZip64(entry, false));
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : records.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return Buffer.concat([records, end]);
  const record64 = Buffer.alloc(56);
  record64.writeUInt32LE(0x06064b50, 0);
  writeUInt64(record64, 56 - 12, 4);
  record64.writeUInt16LE(VERSION_MADE_BY, 12);
  record64.writeUInt16LE(VERSION_NEEDED_ZIP64, 14);
  writeUInt64(record64, entries.length, 24);
  writeUInt64(record64, entries.length, 32);
  writeUInt64(record64, records.length, 40);
  writeUInt64(record64, offset, 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  writeUInt64(locator, offset + records.length, 8);
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([records, record64, locator, end]);
};

/**
 * An empty, non-final stored deflate block, as it reads at a byte boundary (after a full flush):
 * header bits 000, padding, LEN 0, NLEN 0xFFFF. It inflates to nothing, so any number of them may
 * pad a deflate stream between two flushed chunks without changing what it decompresses to.
 */
export const EMPTY_STORED_BLOCK = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** At least `bytes` of empty stored blocks (a whole number of them). */
export const deflatePadding = (bytes: number): Buffer => {
  const blocks = Math.max(0, Math.ceil(bytes / EMPTY_STORED_BLOCK.length));
  const padding = Buffer.alloc(blocks * EMPTY_STORED_BLOCK.length);
  for (let block = 0; block < blocks; block += 1) EMPTY_STORED_BLOCK.copy(padding, block * 5);
  return padding;
};
