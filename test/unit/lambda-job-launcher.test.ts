import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { LambdaJobLauncher } from '../../lambdas/adapters/lambda-job-launcher.js';
import type { JobMessage } from '../../lambdas/ports/job-launcher.js';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

const MESSAGE: JobMessage = { kind: 'purge', tenant: 'acme', jobId: 'pj_123' };
const CREDENTIALS = async () => ({
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'secret',
  sessionToken: 'session',
});
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

/** A stand-in Lambda endpoint answering each request with the next status in `statuses`. */
const fakeLambda = async (statuses: number[]) => {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const status = statuses.shift() ?? 500;
      const errorType = status === 404 ? 'ResourceNotFoundException' : 'TooManyRequestsException';
      response.writeHead(status, status === 202 ? {} : { 'x-amzn-errortype': errorType });
      response.end(status === 202 ? '' : '{"message":"no"}');
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

const launcher = (endpoint: string) =>
  new LambdaJobLauncher({
    region: 'eu-west-1',
    functions: { purge: 'arn:aws:lambda:eu-west-1:123456789012:function:purge-worker', export: undefined },
    credentials: CREDENTIALS,
    endpoint,
    backoff: FAST,
  });

describe('LambdaJobLauncher', () => {
  it('invokes the worker asynchronously with a SigV4-signed Invoke request carrying the job message', async () => {
    // Prepare
    const lambda = await fakeLambda([202]);

    // Act
    await launcher(lambda.endpoint).launch(MESSAGE);

    // Assess
    expect(lambda.received).toHaveLength(1);
    const [request] = lambda.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(
      `/2015-03-31/functions/${encodeURIComponent('arn:aws:lambda:eu-west-1:123456789012:function:purge-worker')}/invocations`,
    );
    expect(request?.headers['x-amz-invocation-type']).toBe('Event');
    expect(request?.headers['x-amz-security-token']).toBe('session');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[^,]*x-amz-date[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(request?.body ?? '')).toEqual(MESSAGE);
    // The signature covers exactly what arrived: re-signing the received request reproduces it.
    const signedHeaders =
      /SignedHeaders=([^,]+)/.exec(String(request?.headers.authorization))?.[1]?.split(';') ?? [];
    const amzDate = String(request?.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const resigned = await new SignatureV4({
      service: 'lambda',
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      sha256: Sha256,
    }).sign(
      {
        method: request?.method ?? '',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: request?.url ?? '',
        query: {},
        headers: Object.fromEntries(signedHeaders.map((name) => [name, String(request?.headers[name])])),
        body: request?.body,
      },
      { signingDate },
    );
    expect(resigned.headers.authorization).toBe(request?.headers.authorization);
  });

  it('retries throttling and server errors, then succeeds', async () => {
    // Prepare
    const lambda = await fakeLambda([429, 503, 202]);

    // Act
    await launcher(lambda.endpoint).launch(MESSAGE);

    // Assess
    expect(lambda.received).toHaveLength(3);
  });

  it('fails with the error type once the retry budget is spent', async () => {
    // Prepare
    const lambda = await fakeLambda([429, 429, 429, 202]);

    // Act
    const launch = launcher(lambda.endpoint).launch(MESSAGE);

    // Assess
    await expect(launch).rejects.toThrow('429 TooManyRequestsException');
    expect(lambda.received).toHaveLength(3);
  });

  it('does not retry a refusal such as a missing function', async () => {
    // Prepare
    const lambda = await fakeLambda([404, 202]);

    // Act
    const launch = launcher(lambda.endpoint).launch(MESSAGE);

    // Assess
    await expect(launch).rejects.toThrow(/purge-worker.*404 ResourceNotFoundException/);
    expect(lambda.received).toHaveLength(1);
  });

  it('retries network errors and reports them when they persist', async () => {
    // Prepare: a port nothing listens on.
    const lambda = await fakeLambda([]);
    const closed = lambda.endpoint;
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));

    // Act
    const launch = launcher(closed).launch(MESSAGE);

    // Assess
    await expect(launch).rejects.toThrow('Could not start the purge worker');
  });

  it('refuses a job kind without a configured worker function, sending nothing', async () => {
    // Prepare
    const lambda = await fakeLambda([202]);

    // Act
    const launch = launcher(lambda.endpoint).launch({ ...MESSAGE, kind: 'export' });

    // Assess
    await expect(launch).rejects.toThrow('No worker function is configured for export jobs');
    expect(lambda.received).toHaveLength(0);
  });
});
