import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE } from '../domain/export.js';
import type { ExportLinks } from '../ports/export-store.js';

/**
 * Links to stored exports in S3: presigned GETs and existence checks, without the upload side, for
 * the functions that only hand out finished exports.
 */
export class S3ExportLinks implements ExportLinks {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(s3: S3Client, options: { readonly bucket: string }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
  }

  presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.#s3,
      new GetObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        ResponseContentDisposition: EXPORT_CONTENT_DISPOSITION,
        ResponseContentType: EXPORT_CONTENT_TYPE,
      }),
      { expiresIn: expiresInSeconds },
    );
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (error) {
      if (error instanceof Error && (error.name === 'NotFound' || error.name === 'NoSuchKey')) return false;
      throw error;
    }
  }
}
