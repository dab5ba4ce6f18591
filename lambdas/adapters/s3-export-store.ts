import { PassThrough } from 'node:stream';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ServiceUnavailableError } from '../domain/errors.js';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE } from '../domain/export.js';
import type { ExportObjectStore, ExportUpload } from '../ports/export-store.js';
import { log } from './log.js';
import { S3ExportLinks } from './s3-export-links.js';

export interface S3ExportStoreOptions {
  readonly bucket: string;
  /** Multipart part size (S3's minimum is 5 MiB). Memory use is about twice this. */
  readonly partSize: number;
}

/** How much of the zip may wait between the zipper and the uploader. */
const BODY_BUFFER_BYTES = 1024 * 1024;

/**
 * Exports in S3, written with lib-storage's multipart Upload. One part is in flight at a time
 * (`queueSize: 1`): memory stays at about two parts whatever the export's size, and a failed part
 * stops the upload at once instead of after the rest of the body was sent by the other queues.
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
    const body = new PassThrough({ highWaterMark: BODY_BUFFER_BYTES });
    const upload = new Upload({
      client: this.#s3,
      params: {
        Bucket: this.#bucket,
        Key: key,
        Body: body,
        ContentType: EXPORT_CONTENT_TYPE,
        ContentDisposition: EXPORT_CONTENT_DISPOSITION,
      },
      queueSize: 1,
      partSize: this.#partSize,
      // The default, stated because it matters: a failed or cancelled upload is aborted.
      leavePartsOnError: false,
    });
    const done = upload.done().then(
      () => undefined,
      async (error: unknown) => {
        // lib-storage aborts the multipart upload itself; if that abort failed too (S3 still
        // unavailable), try once more so no parts linger until the bucket's lifecycle rule.
        const uploadId = upload.uploadId;
        if (uploadId) await this.#abortQuietly(key, uploadId);
        // Make sure nothing keeps writing into a body nobody reads.
        body.destroy();
        log.warn('export upload failed', {
          bucket: this.#bucket,
          key,
          error: error instanceof Error ? error.name : 'unknown',
        });
        throw new ServiceUnavailableError(
          'The export could not be stored right now; nothing was kept. Try again shortly.',
          { cause: error },
        );
      },
    );
    return { stream: body, done };
  }

  async #abortQuietly(key: string, uploadId: string): Promise<void> {
    try {
      await this.#s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      // NoSuchUpload: lib-storage's own abort went through.
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
