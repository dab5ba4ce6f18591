import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DependencyError, ServiceUnavailableError } from '../domain/errors.js';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE } from '../domain/export.js';
import type { ExportObjectStore, ExportUpload } from '../ports/export-store.js';
import { log } from './log.js';
import { S3ExportLinks } from './s3-export-links.js';

export interface S3ExportStoreOptions {
  readonly bucket: string;
  /** Multipart part size (S3's minimum is 5 MiB). Memory use is one part and a little more. */
  readonly partSize: number;
}

/** How much of the zip may wait between the zipper and the uploader. */
const BODY_BUFFER_BYTES = 1024 * 1024;

/**
 * Exports in S3, written as a multipart upload one part at a time (a single PutObject when the zip
 * fits in one part). A failed part stops the upload at once and it is aborted: nothing is left.
 */
export class S3ExportStore implements ExportObjectStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #partSize: number;
  readonly #links: S3ExportLinks;

  constructor(s3: S3Client, options: S3ExportStoreOptions) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
    this.#partSize = options.partSize;
    this.#links = new S3ExportLinks(s3, { bucket: options.bucket });
  }

  startUpload(key: string): ExportUpload {
    const body = new PartWriter(this.#s3, { Bucket: this.#bucket, Key: key }, this.#partSize);
    const settled = new Promise<void>((resolve, reject) => {
      body.once('finish', () => resolve());
      body.once('error', reject);
      // Destroyed without an error: cancelled.
      body.once('close', () => {
        if (!body.writableFinished) reject(new Error('the upload was cancelled'));
      });
    });
    const done = settled.catch(async (error: unknown) => {
      // Abort once no request of the upload is in flight (a part that lands after the abort would
      // linger until the bucket's lifecycle rule).
      const uploadId = await body.idle();
      if (uploadId) await this.#abortQuietly(key, uploadId);
      log.warn('export upload failed', {
        bucket: this.#bucket,
        key,
        error: error instanceof Error ? error.name : 'unknown',
      });
      throw new ServiceUnavailableError(
        'The export could not be stored right now; nothing was kept. Try again shortly.',
        { cause: error },
      );
    });
    return { stream: body, done };
  }

  async #abortQuietly(key: string, uploadId: string): Promise<void> {
    try {
      await this.#s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      // NoSuchUpload: aborted already. Anything else: the bucket's lifecycle rule aborts it later.
      const name = error instanceof Error ? error.name : 'unknown';
      if (name !== 'NoSuchUpload') log.warn('export upload abort failed', { key, error: name });
    }
  }

  presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    return this.#links.presignDownload(key, expiresInSeconds);
  }

  exists(key: string): Promise<boolean> {
    return this.#links.exists(key);
  }
}

/**
 * The upload's body: what is written is copied into one part-sized buffer, sent as a part once full
 * (and more follows), and the same buffer is filled again once S3 has it. Neither the chunks nor
 * the parts outlive their turn, so memory is one part whatever the export's size. (lib-storage's
 * Upload gathered each part's chunks and joined them into a new buffer per part: a big export's
 * chunks lived long enough to reach V8's old generation, where their memory waited for a full
 * garbage collection, tens of MB of it.) Writes wait while a part uploads: backpressure.
 */
class PartWriter extends Writable {
  readonly #s3: S3Client;
  readonly #target: { readonly Bucket: string; readonly Key: string };
  readonly #part: Buffer;
  #filled = 0;
  #uploadId: string | undefined;
  readonly #parts: CompletedPart[] = [];
  /** The request in flight, if any (settled either way). */
  #pending: Promise<unknown> = Promise.resolve();

  constructor(s3: S3Client, target: { readonly Bucket: string; readonly Key: string }, partSize: number) {
    super({ highWaterMark: BODY_BUFFER_BYTES });
    this.#s3 = s3;
    this.#target = target;
    this.#part = Buffer.allocUnsafe(partSize);
  }

  /** Once no request is in flight: the multipart upload's id, if one was created. */
  async idle(): Promise<string | undefined> {
    await this.#pending;
    return this.#uploadId;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finish().then(() => callback(), callback);
  }

  async #take(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      // A full part is sent only once more follows, so a zip of one part is one PutObject.
      if (this.#filled === this.#part.length) await this.#sendPart();
      const copied = chunk.copy(this.#part, this.#filled, offset);
      this.#filled += copied;
      offset += copied;
    }
  }

  async #finish(): Promise<void> {
    const rest = this.#part.subarray(0, this.#filled);
    if (this.#uploadId === undefined) {
      await this.#send(() =>
        this.#s3.send(
          new PutObjectCommand({
            ...this.#target,
            Body: rest,
            ContentType: EXPORT_CONTENT_TYPE,
            ContentDisposition: EXPORT_CONTENT_DISPOSITION,
          }),
        ),
      );
      return;
    }
    if (this.#filled > 0) await this.#sendPart();
    await this.#send(() =>
      this.#s3.send(
        new CompleteMultipartUploadCommand({
          ...this.#target,
          UploadId: this.#uploadId,
          MultipartUpload: { Parts: this.#parts },
        }),
      ),
    );
  }

  async #sendPart(): Promise<void> {
    const uploadId = this.#uploadId ?? (await this.#create());
    const partNumber = this.#parts.length + 1;
    const part = await this.#send(() =>
      this.#s3.send(
        new UploadPartCommand({
          ...this.#target,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: this.#part.subarray(0, this.#filled),
        }),
      ),
    );
    if (!part.ETag) throw new DependencyError(`S3 returned no ETag for part ${partNumber}`);
    // With a checksum algorithm on the upload, completing it names each part's checksum.
    this.#parts.push({
      PartNumber: partNumber,
      ETag: part.ETag,
      ...(part.ChecksumCRC32 ? { ChecksumCRC32: part.ChecksumCRC32 } : {}),
      ...(part.ChecksumCRC32C ? { ChecksumCRC32C: part.ChecksumCRC32C } : {}),
      ...(part.ChecksumSHA1 ? { ChecksumSHA1: part.ChecksumSHA1 } : {}),
      ...(part.ChecksumSHA256 ? { ChecksumSHA256: part.ChecksumSHA256 } : {}),
    });
    // S3 has the part (its answer comes after the whole body): the buffer is free to fill again.
    this.#filled = 0;
  }

  async #create(): Promise<string> {
    // As lib-storage does: where the client adds checksums to requests that support them (its
    // default against AWS), the upload declares CRC32, which the client puts on each part.
    const checksums = await this.#s3.config.requestChecksumCalculation();
    const { UploadId } = await this.#send(() =>
      this.#s3.send(
        new CreateMultipartUploadCommand({
          ...this.#target,
          ContentType: EXPORT_CONTENT_TYPE,
          ContentDisposition: EXPORT_CONTENT_DISPOSITION,
          ...(checksums === 'WHEN_SUPPORTED' ? { ChecksumAlgorithm: 'CRC32' } : {}),
        }),
      ),
    );
    if (!UploadId) throw new DependencyError('S3 returned no upload id');
    this.#uploadId = UploadId;
    return UploadId;
  }

  /** Sends one request of the upload, unless the body was destroyed (cancelled) meanwhile. */
  #send<Output>(request: () => Promise<Output>): Promise<Output> {
    if (this.destroyed) return Promise.reject(new Error('the upload was cancelled'));
    const sent = request();
    this.#pending = sent.catch(() => undefined);
    return sent;
  }
}
