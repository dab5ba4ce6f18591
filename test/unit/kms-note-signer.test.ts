import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { kmsNoteSigner } from '../../lambdas/adapters/kms-note-signer.js';
import { openNote, signNote } from '../../lambdas/domain/tlog/note.js';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
}

const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/0b8d8ef2-0000-4000-8000-000000000001';

/**
 * A stand-in KMS endpoint (JSON 1.1) holding one Ed25519 key: GetPublicKey and Sign as KMS answers
 * them (binary fields base64), after the given failures ([status, error type]) first.
 */
const fakeKms = async (failures: [number, string][] = [], keySpec = 'ECC_NIST_EDWARDS25519') => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      received.push({ headers: request.headers, body });
      const failure = failures.shift();
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (failure) {
        response.writeHead(failure[0]);
        response.end(JSON.stringify({ __type: failure[1], message: 'no' }));
        return;
      }
      const action = String(request.headers['x-amz-target']).split('.')[1];
      response.writeHead(200);
      if (action === 'GetPublicKey') {
        response.end(
          JSON.stringify({
            KeyId: KEY_ID,
            KeySpec: keySpec,
            PublicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
          }),
        );
      } else {
        const message = Buffer.from(String(body.Message), 'base64');
        response.end(
          JSON.stringify({ KeyId: KEY_ID, Signature: sign(null, message, privateKey).toString('base64') }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { received, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const signerAt = (endpoint: string) =>
  kmsNoteSigner({
    region: 'eu-west-1',
    keyId: KEY_ID,
    name: 'audit-trail.example.com',
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    endpoint,
    backoff: FAST,
  });

describe('kmsNoteSigner', () => {
  it('signs notes with the KMS key over SigV4-signed calls, verifiable with the public key it read', async () => {
    // Prepare
    const kms = await fakeKms();

    // Act
    const signer = await signerAt(kms.endpoint);
    const note = await signNote('audit-trail.example.com/acme\n3\nAAAA\n', [signer]);

    // Assess
    expect(openNote(note, [signer.verifier]).text).toBe('audit-trail.example.com/acme\n3\nAAAA\n');
    const [getKey, signCall] = kms.received;
    expect(getKey?.headers['x-amz-target']).toBe('TrentService.GetPublicKey');
    expect(getKey?.body).toEqual({ KeyId: KEY_ID });
    expect(signCall?.headers['x-amz-target']).toBe('TrentService.Sign');
    expect(signCall?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(signCall?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/kms\//,
    );
    expect(signCall?.body).toMatchObject({
      KeyId: KEY_ID,
      MessageType: 'RAW',
      SigningAlgorithm: 'ED25519_SHA_512',
    });
  });

  it('retries throttling and server errors, then signs', async () => {
    const kms = await fakeKms([
      [400, 'ThrottlingException'],
      [500, 'KMSInternalException'],
    ]);
    const signer = await signerAt(kms.endpoint);
    expect(openNote(await signNote('a\n', [signer]), [signer.verifier]).text).toBe('a\n');
    expect(kms.received).toHaveLength(4);
  });

  it('refuses a key that is not Ed25519, and stops at a refusal without retrying', async () => {
    await expect(signerAt((await fakeKms([], 'ECC_NIST_P256')).endpoint)).rejects.toThrow(
      'ECC_NIST_EDWARDS25519',
    );
    const denied = await fakeKms([[400, 'AccessDeniedException']]);
    await expect(signerAt(denied.endpoint)).rejects.toThrow(
      'KMS GetPublicKey failed: 400 AccessDeniedException',
    );
    expect(denied.received).toHaveLength(1);
  });
});
