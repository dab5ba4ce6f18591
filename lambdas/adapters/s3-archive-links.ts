import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ArchiveLinks } from '../ports/archive-store.js';
import { archiveObjectKey, isMissing } from './s3-archive-store.js';

/**
 * Links to archived objects in S3: existence checks and presigned GETs, without the writing side,
 * for the function that hands out archives (the purge functions carry no presigner). Public keys
 * become object keys under the caller's own tenant prefix, as in `S3ArchiveStore`.
 */
export class S3ArchiveLinks implements ArchiveLinks {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(s3: S3Client, options: { readonly bucket: string }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
  }

  async exists(tenant: string, key: string): Promise<boolean> {
    try {
      await this.#s3.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: archiveObjectKey(tenant, key) }),
      );
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async presign(tenant: string, key: string, filename: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.#s3,
      new GetObjectCommand({
        Bucket: this.#bucket,
        Key: archiveObjectKey(tenant, key),
        ResponseContentDisposition: `attachment; filename="${filename.replace(/["\\]/g, '')}"`,
      }),
      { expiresIn: expiresInSeconds },
    );
  }
}
