import type { S3Client } from '@aws-sdk/client-s3';
import { ServiceUnavailableError } from '../domain/errors.js';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE } from '../domain/export.js';
import type { ExportObjectStore, ExportUpload } from '../ports/export-store.js';
import { log } from './log.js';
import { S3ExportLinks } from './s3-export-links.js';
import { abortQuietly, S3PartWriter } from './s3-part-writer.js';

export interface S3ExportStoreOptions {
  readonly bucket: string;
  /** Multipart part size (S3's minimum is 5 MiB). Memory use is one part and a little more. */
  readonly partSize: number;
}

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
    const body = new S3PartWriter(
      this.#s3,
      { Bucket: this.#bucket, Key: key },
      {
        partSize: this.#partSize,
        headers: { ContentType: EXPORT_CONTENT_TYPE, ContentDisposition: EXPORT_CONTENT_DISPOSITION },
      },
    );
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
      if (uploadId) await abortQuietly(this.#s3, { Bucket: this.#bucket, Key: key }, uploadId);
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

  presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    return this.#links.presignDownload(key, expiresInSeconds);
  }

  exists(key: string): Promise<boolean> {
    return this.#links.exists(key);
  }
}
