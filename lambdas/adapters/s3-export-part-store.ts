import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DependencyError } from '../domain/errors.js';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE } from '../domain/export.js';
import type { ExportPartStore } from '../ports/export-store.js';
import { log } from './log.js';

/**
 * A parallel export's multipart upload in the exports bucket: created by the plan step, one part
 * per chunk worker, the last part and the completion by the finishing step.
 */
export class S3ExportPartStore implements ExportPartStore {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(s3: S3Client, options: { readonly bucket: string }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
  }

  async createMultipart(key: string): Promise<string> {
    const { UploadId } = await this.#s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: key,
        ContentType: EXPORT_CONTENT_TYPE,
        ContentDisposition: EXPORT_CONTENT_DISPOSITION,
      }),
    );
    if (!UploadId) throw new DependencyError('S3 returned no upload id');
    return UploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable | Buffer,
    length: number,
  ): Promise<string> {
    const { ETag } = await this.#s3.send(
      new UploadPartCommand({
        Bucket: this.#bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: length,
      }),
    );
    if (!ETag) throw new DependencyError(`S3 returned no ETag for part ${partNumber}`);
    return ETag;
  }

  async completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { readonly partNumber: number; readonly etag: string }[],
  ): Promise<void> {
    await this.#s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: parts.map(({ partNumber, etag }) => ({ PartNumber: partNumber, ETag: etag })),
        },
      }),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.#s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      // NoSuchUpload: aborted before. Anything else: the bucket's lifecycle rule aborts it later.
      const name = error instanceof Error ? error.name : 'unknown';
      if (name !== 'NoSuchUpload') log.warn('export upload abort failed', { key, error: name });
    }
  }
}
