import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { InvariantError } from '../domain/errors.js';
import {
  type ArchiveManifest,
  type ArchivePart,
  archiveLine,
  parseArchiveKey,
  partKey,
  sha256Hex,
} from '../domain/purge.js';
import type { AuditRecord } from '../domain/record.js';
import { ARCHIVE_PROOF_NAME } from '../domain/tlog/archive-proof.js';
import type { ArchiveStore } from '../ports/archive-store.js';
import { uploadStreamed } from './s3-part-writer.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

const tenantPrefix = (tenant: string) => `tenants/${tenant}/purges/`;
const jobPrefix = (tenant: string, jobId: string) => `${tenantPrefix(tenant)}${jobId}/`;
const PART_SUFFIX = '.jsonl.gz';
const MANIFEST_NAME = 'manifest.json';
const PROOF_NAME = ARCHIVE_PROOF_NAME;

/** Whether `error` is S3's answer for an object that is not there (GET: NoSuchKey, HEAD: NotFound). */
export const isMissing = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');

/**
 * The object behind a public key, under the tenant's prefix; throws for keys that are not archive
 * keys (callers check with `parseArchiveKey` first).
 */
export const archiveObjectKey = (tenant: string, key: string): string => {
  const parsed = parseArchiveKey(key);
  if (!parsed) throw new RangeError('not an archive key');
  if (parsed.kind === 'manifest') return `${jobPrefix(tenant, parsed.jobId)}${MANIFEST_NAME}`;
  if (parsed.kind === 'proof') return `${jobPrefix(tenant, parsed.jobId)}${PROOF_NAME}`;
  return `${jobPrefix(tenant, parsed.jobId)}${String(parsed.firstId).padStart(16, '0')}${PART_SUFFIX}`;
};

/**
 * Archives on S3, under `tenants/<tenant>/purges/<job id>/`: one gzip JSON Lines object per part
 * (`<first id, 16 digits>.jsonl.gz`), `manifest.json` and, once the job completes, the verifiable
 * log's `tlog-proof.jsonl`. Public keys are translated to object keys
 * under the caller's own tenant prefix, never taken as object keys.
 */
export class S3ArchiveStore implements ArchiveStore {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(s3: S3Client, options: { readonly bucket: string }) {
    this.#s3 = s3;
    this.#bucket = options.bucket;
  }

  async writePart(
    tenant: string,
    jobId: string,
    records: readonly AuditRecord[],
    now: number,
  ): Promise<ArchivePart> {
    const first = records[0];
    const last = records[records.length - 1];
    if (!first || !last) throw new RangeError('an archive part needs at least one record');
    const body = await gzipAsync(Buffer.from(`${records.map(archiveLine).join('\n')}\n`, 'utf8'));
    await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${jobPrefix(tenant, jobId)}${String(first.id).padStart(16, '0')}${PART_SUFFIX}`,
        Body: body,
        ContentType: 'application/gzip',
      }),
    );
    return {
      key: partKey(jobId, first.id),
      firstId: first.id,
      lastId: last.id,
      count: records.length,
      size: body.length,
      sha256: sha256Hex(body),
      created: now,
    };
  }

  async readPart(tenant: string, part: ArchivePart): Promise<AuditRecord[]> {
    const body = await this.#read(archiveObjectKey(tenant, part.key));
    if (!body) throw new InvariantError(`archive part ${part.key} is missing`);
    const text = (await gunzipAsync(body)).toString('utf8');
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as AuditRecord);
  }

  async readManifest(tenant: string, jobId: string): Promise<ArchiveManifest | undefined> {
    const body = await this.#read(`${jobPrefix(tenant, jobId)}${MANIFEST_NAME}`);
    return body ? (JSON.parse(body.toString('utf8')) as ArchiveManifest) : undefined;
  }

  async writeManifest(manifest: ArchiveManifest): Promise<void> {
    await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${jobPrefix(manifest.tenant, manifest.jobId)}${MANIFEST_NAME}`,
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  }

  async writeProof(tenant: string, jobId: string, content: AsyncIterable<Uint8Array>): Promise<void> {
    // One 5 MiB part at a time: the proof file is never held whole.
    await uploadStreamed(
      this.#s3,
      { Bucket: this.#bucket, Key: `${jobPrefix(tenant, jobId)}${PROOF_NAME}` },
      content,
      { headers: { ContentType: 'application/jsonl' } },
    );
  }

  async removeUnlisted(manifest: ArchiveManifest): Promise<number> {
    const listed = new Set(manifest.parts.map((part) => archiveObjectKey(manifest.tenant, part.key)));
    const unlisted = (await this.#list(jobPrefix(manifest.tenant, manifest.jobId))).filter(
      (key) => key.endsWith(PART_SUFFIX) && !listed.has(key),
    );
    if (unlisted.length > 0) {
      await this.#s3.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: unlisted.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
    return unlisted.length;
  }

  async listManifests(tenant: string): Promise<ArchiveManifest[]> {
    const keys = (await this.#list(tenantPrefix(tenant))).filter((key) => key.endsWith(`/${MANIFEST_NAME}`));
    const manifests: ArchiveManifest[] = [];
    for (const key of keys) {
      const body = await this.#read(key);
      if (body) manifests.push(JSON.parse(body.toString('utf8')) as ArchiveManifest);
    }
    return manifests.sort((a, b) => a.created - b.created);
  }

  async #list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const output = await this.#s3.send(
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of output.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  async #read(key: string): Promise<Buffer | undefined> {
    try {
      const output = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      if (!output.Body) return undefined;
      return Buffer.from(await output.Body.transformToByteArray());
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}
