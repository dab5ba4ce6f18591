import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { S3ExportStore } from '../../lambdas/adapters/s3-export-store.js';
import { uploadStreamed } from '../../lambdas/adapters/s3-part-writer.js';
import { ServiceUnavailableError } from '../../lambdas/domain/errors.js';
import { EXPORT_CONTENT_DISPOSITION, EXPORT_CONTENT_TYPE } from '../../lambdas/domain/export.js';

interface Sent {
  readonly command: string;
  readonly input: Record<string, unknown>;
  /** The body's bytes as the request was sent, and whether they were the same when it was answered. */
  readonly body?: Buffer;
  unchanged?: boolean;
  partsAnsweredBefore?: number;
}

/**
 * An S3 client that answers the export store's requests in memory, a turn later (as a real request
 * would), and keeps a copy of each body as it was sent: the store reuses its part buffer.
 */
const fakeS3 = (
  options: {
    failPart?: number;
    onPart?: (partNumber: number) => Promise<void>;
    onSend?: (request: Sent) => void;
  } = {},
) => {
  const sent: Sent[] = [];
  const client = {
    config: { requestChecksumCalculation: async () => 'WHEN_REQUIRED' },
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const body = command.input.Body as Uint8Array | undefined;
      const request: Sent = {
        command: command.constructor.name,
        input: command.input,
        ...(body ? { body: Buffer.from(body) } : {}),
      };
      sent.push(request);
      options.onSend?.(request);
      await new Promise((resolve) => setImmediate(resolve));
      const partNumber = command.input.PartNumber as number;
      if (request.command === 'UploadPartCommand') await options.onPart?.(partNumber);
      if (body) request.unchanged = Buffer.from(body).equals(request.body as Buffer);
      switch (request.command) {
        case 'CreateMultipartUploadCommand':
          return { UploadId: 'up-1' };
        case 'UploadPartCommand':
          if (partNumber === options.failPart)
            throw Object.assign(new Error('S3 is down'), { name: 'InternalError' });
          return { ETag: `"etag-${partNumber}"` };
        default:
          return {};
      }
    },
  };
  return { s3: client as unknown as S3Client, sent };
};

const bytes = (length: number) => Buffer.from(Array.from({ length }, (_, index) => (index * 7) % 251));

/** Writes `data` in uneven chunks, waiting for drains, and ends the stream. */
const writeAll = async (stream: NodeJS.WritableStream, data: Buffer) => {
  for (let offset = 0, step = 1; offset < data.length; offset += step, step = (step * 3 + 1) % 700 || 1) {
    if (!stream.write(data.subarray(offset, offset + step)))
      await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
};

describe('S3ExportStore uploads', () => {
  it('sends a zip that fits one part as one PutObject', async () => {
    const { s3, sent } = fakeS3();
    const upload = new S3ExportStore(s3, { bucket: 'exports', partSize: 1024 }).startUpload('a.zip');
    const data = bytes(1024);

    await writeAll(upload.stream, data);
    await upload.done;

    expect(sent.map((request) => request.command)).toEqual(['PutObjectCommand']);
    expect(sent[0]?.body?.equals(data)).toBe(true);
    expect(sent[0]?.input).toMatchObject({
      Bucket: 'exports',
      Key: 'a.zip',
      ContentType: EXPORT_CONTENT_TYPE,
      ContentDisposition: EXPORT_CONTENT_DISPOSITION,
    });
  });

  it('sends parts of the part size from one buffer, the last one shorter, and completes with their ETags', async () => {
    const { s3, sent } = fakeS3();
    const upload = new S3ExportStore(s3, { bucket: 'exports', partSize: 1024 }).startUpload('b.zip');
    const data = bytes(2600);

    await writeAll(upload.stream, data);
    await upload.done;

    expect(sent.map((request) => request.command)).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    const parts = sent.filter((request) => request.command === 'UploadPartCommand');
    expect(parts.map((part) => part.body?.length)).toEqual([1024, 1024, 552]);
    // Each part's bytes stayed as sent until S3 answered, though the buffer is filled again after.
    expect(parts.map((part) => part.unchanged)).toEqual([true, true, true]);
    expect(Buffer.concat(parts.map((part) => part.body as Buffer)).equals(data)).toBe(true);
    expect(sent[4]?.input.MultipartUpload).toEqual({
      Parts: [1, 2, 3].map((number) => ({ PartNumber: number, ETag: `"etag-${number}"` })),
    });
  });

  it('aborts a failed upload and completes nothing', async () => {
    const { s3, sent } = fakeS3({ failPart: 2 });
    const upload = new S3ExportStore(s3, { bucket: 'exports', partSize: 1024 }).startUpload('c.zip');
    upload.stream.on('error', () => undefined);

    await writeAll(upload.stream, bytes(4000)).catch(() => undefined);

    await expect(upload.done).rejects.toBeInstanceOf(ServiceUnavailableError);
    const commands = sent.map((request) => request.command);
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(commands.filter((command) => command === 'UploadPartCommand')).toHaveLength(2);
    expect(commands.at(-1)).toBe('AbortMultipartUploadCommand');
    expect(sent.at(-1)?.input).toMatchObject({ Key: 'c.zip', UploadId: 'up-1' });
  });

  it('when cancelled mid-part, aborts once that part is answered (no part lands after the abort)', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let partsAnswered = 0;
    const { s3, sent } = fakeS3({
      onPart: async (partNumber) => {
        if (partNumber === 2) await held;
        partsAnswered += 1;
      },
      // What S3 had answered of the parts when each request was sent.
      onSend: (request) => {
        request.partsAnsweredBefore = partsAnswered;
      },
    });
    const upload = new S3ExportStore(s3, { bucket: 'exports', partSize: 1024 }).startUpload('d.zip');
    upload.stream.on('error', () => undefined);
    upload.stream.write(bytes(2100));
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    while (sent.filter((request) => request.command === 'UploadPartCommand').length < 2) await turn();

    upload.stream.destroy();
    const rejected = expect(upload.done).rejects.toBeInstanceOf(ServiceUnavailableError);
    // Turns enough for an abort that did not wait to be sent; then S3 answers part 2.
    for (let count = 0; count < 20; count += 1) await turn();
    release();
    await rejected;

    const abort = sent.at(-1);
    expect(abort?.command).toBe('AbortMultipartUploadCommand');
    expect(abort?.partsAnsweredBefore).toBe(2);
    expect(sent.map((request) => request.command)).not.toContain('CompleteMultipartUploadCommand');
  });
});

describe('uploadStreamed (archive proof files)', () => {
  const chunks = async function* (data: Buffer, failAfter?: number) {
    for (let offset = 0; offset < data.length; offset += 300) {
      if (failAfter !== undefined && offset >= failAfter)
        throw new Error('the proof file could not be built');
      yield data.subarray(offset, offset + 300);
      // As the proof file's source does (it reads the table), the next chunk comes a turn later.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const target = { Bucket: 'archive', Key: 'acme/job/job.tlog-proof.jsonl' };
  const headers = { ContentType: 'application/jsonl' };

  it('stores what the source yields, as parts of the part size, with the headers given', async () => {
    const { s3, sent } = fakeS3();
    const data = bytes(2500);
    await uploadStreamed(s3, target, chunks(data), { partSize: 1024, headers });
    const parts = sent.filter((request) => request.command === 'UploadPartCommand');
    expect(parts.map((part) => part.body?.length)).toEqual([1024, 1024, 452]);
    expect(Buffer.concat(parts.map((part) => part.body as Buffer)).equals(data)).toBe(true);
    expect(sent[0]?.input).toMatchObject({ ...target, ContentType: 'application/jsonl' });
    expect(sent.at(-1)?.command).toBe('CompleteMultipartUploadCommand');
  });

  it('sends a small file as one PutObject', async () => {
    const { s3, sent } = fakeS3();
    await uploadStreamed(s3, target, chunks(bytes(700)), { partSize: 1024, headers });
    expect(sent.map((request) => request.command)).toEqual(['PutObjectCommand']);
    expect(sent[0]?.body?.length).toBe(700);
  });

  it('aborts and throws when a part fails, completing nothing', async () => {
    const { s3, sent } = fakeS3({ failPart: 2 });
    await expect(
      uploadStreamed(s3, target, chunks(bytes(5000)), { partSize: 1024, headers }),
    ).rejects.toThrow('S3 is down');
    const commands = sent.map((request) => request.command);
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(commands.at(-1)).toBe('AbortMultipartUploadCommand');
  });

  it("aborts and throws the source's own failure, after the part in flight is answered", async () => {
    const { s3, sent } = fakeS3();
    await expect(
      uploadStreamed(s3, target, chunks(bytes(5000), 2400), { partSize: 1024, headers }),
    ).rejects.toThrow('the proof file could not be built');
    const commands = sent.map((request) => request.command);
    expect(commands.filter((command) => command === 'UploadPartCommand').length).toBeGreaterThan(0);
    expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect(commands.at(-1)).toBe('AbortMultipartUploadCommand');
  });
});
