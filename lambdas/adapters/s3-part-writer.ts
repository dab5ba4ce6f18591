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
import { DependencyError } from '../domain/errors.js';
import { log } from './log.js';

/** The headers an object is stored with. */
export interface ObjectHeaders {
  readonly ContentType: string;
  readonly ContentDisposition?: string;
}

/** S3's least part size (all but the last part of a multipart upload). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** How much of the body may wait between its writer and the uploader. */
const BODY_BUFFER_BYTES = 1024 * 1024;

/**
 * Stores `content` as one object, a part at a time through {@link S3PartWriter} (one part of memory
 * whatever its size; one PutObject when it fits one part). On any failure the multipart upload is
 * aborted once no request of it is in flight, and the failure is thrown: nothing is left behind.
 */
export const uploadStreamed = async (
  s3: S3Client,
  target: { readonly Bucket: string; readonly Key: string },
  content: AsyncIterable<Uint8Array>,
  options: { readonly partSize?: number; readonly headers: ObjectHeaders },
): Promise<void> => {
  const body = new S3PartWriter(s3, target, {
    partSize: options.partSize ?? MIN_PART_BYTES,
    headers: options.headers,
  });
  const finished = new Promise<void>((resolve, reject) => {
    body.once('finish', () => resolve());
    body.once('error', reject);
  });
  // The writer's own failure (a part refused) is seen here too, by `finished`.
  finished.catch(() => undefined);
  /** The writer's failure (a part S3 refused), once it has one. */
  const failure = (): Error | undefined =>
    body.errored ?? (body.destroyed ? new Error('the upload was cancelled') : undefined);
  try {
    for await (const chunk of content) {
      const failed = failure();
      if (failed) throw failed;
      if (!body.write(chunk)) {
        // Until the writer has room again, or it has failed (then it never drains).
        await new Promise<void>((resolve) => {
          const settle = () => {
            body.off('drain', settle);
            body.off('close', settle);
            resolve();
          };
          body.once('drain', settle);
          body.once('close', settle);
        });
      }
    }
    const failed = failure();
    if (failed) throw failed;
    body.end();
    await finished;
  } catch (error) {
    if (!body.destroyed) body.destroy();
    const uploadId = await body.idle();
    if (uploadId) await abortQuietly(s3, target, uploadId);
    throw error;
  }
};

/** Aborts a multipart upload; a failure to is logged (the bucket's lifecycle rule aborts it later). */
export const abortQuietly = async (
  s3: S3Client,
  target: { readonly Bucket: string; readonly Key: string },
  uploadId: string,
): Promise<void> => {
  try {
    await s3.send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }));
  } catch (error) {
    // NoSuchUpload: aborted already.
    const name = error instanceof Error ? error.name : 'unknown';
    if (name !== 'NoSuchUpload') log.warn('upload abort failed', { key: target.Key, error: name });
  }
};

/**
 * The upload's body: what is written is copied into one part-sized buffer, sent as a part once full
 * (and more follows), and the same buffer is filled again once S3 has it. Neither the chunks nor
 * the parts outlive their turn, so memory is one part whatever the export's size. (lib-storage's
 * Upload gathered each part's chunks and joined them into a new buffer per part: a big export's
 * chunks lived long enough to reach V8's old generation, where their memory waited for a full
 * garbage collection, tens of MB of it.) Writes wait while a part uploads: backpressure.
 */
export class S3PartWriter extends Writable {
  readonly #s3: S3Client;
  readonly #target: { readonly Bucket: string; readonly Key: string };
  readonly #headers: ObjectHeaders;
  readonly #part: Buffer;
  #filled = 0;
  #uploadId: string | undefined;
  readonly #parts: CompletedPart[] = [];
  /** The request in flight, if any (settled either way). */
  #pending: Promise<unknown> = Promise.resolve();

  constructor(
    s3: S3Client,
    target: { readonly Bucket: string; readonly Key: string },
    options: { readonly partSize: number; readonly headers: ObjectHeaders },
  ) {
    super({ highWaterMark: BODY_BUFFER_BYTES });
    this.#s3 = s3;
    this.#target = target;
    this.#headers = options.headers;
    this.#part = Buffer.allocUnsafe(options.partSize);
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
            ...this.#headers,
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
          ...this.#headers,
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
