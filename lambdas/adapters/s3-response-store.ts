import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConfigurationError } from '../domain/errors.js';
import type { LargeResponseStore } from '../ports/response-store.js';

/** Longest a presigned URL to a parked response may live. */
export const MAX_PRESIGN_SECONDS = 300;

/**
 * Parks large responses in the exports bucket (whose lifecycle rule expires them) under a random
 * key per tenant, and presigns a short-lived GET: the key is unguessable and the URL expires.
 */
export class S3LargeResponseStore implements LargeResponseStore {
  readonly #s3: S3Client;
  readonly #bucket: string | undefined;

  constructor(s3: S3Client, options: { readonly bucket: string | undefined }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
  }

  async stash(
    tenant: string,
    body: string,
    options: { contentType: string; expiresInSeconds: number },
  ): Promise<string> {
    const bucket = this.#bucket;
    if (!bucket)
      throw new ConfigurationError('EXPORTS_BUCKET is not configured: large responses cannot be redirected');
    const key = `responses/${tenant}/${new Date().toISOString().slice(0, 10)}/${randomUUID()}.json`;
    await this.#s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: options.contentType }),
    );
    return getSignedUrl(
      this.#s3,
      new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentType: options.contentType }),
      { expiresIn: Math.min(MAX_PRESIGN_SECONDS, options.expiresInSeconds) },
    );
  }
}
