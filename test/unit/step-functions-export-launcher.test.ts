import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { StepFunctionsExportLauncher } from '../../lambdas/adapters/step-functions-export-launcher.js';
import type { JobMessage } from '../../lambdas/ports/job-launcher.js';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

const MESSAGE: JobMessage = { kind: 'export', tenant: 'acme', jobId: 'exp_0mx3kkghi809293ef72c4' };
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:exports';
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

/** A stand-in Step Functions endpoint answering each request with the next [status, error type]. */
const fakeStates = async (answers: [number, string?][]) => {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const [status, type] = answers.shift() ?? [500, 'InternalError'];
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        status === 200 ? '{"executionArn":"arn","startDate":1}' : JSON.stringify({ __type: type }),
      );
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

const launcher = (endpoint: string, stateMachineArn: string | null = MACHINE) =>
  new StepFunctionsExportLauncher({
    region: 'eu-west-1',
    stateMachineArn: stateMachineArn ?? undefined,
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    endpoint,
    backoff: FAST,
  });

describe('Class: StepFunctionsExportLauncher', () => {
  it('starts an execution named after the job with a SigV4-signed StartExecution', async () => {
    // Prepare
    const states = await fakeStates([[200]]);

    // Act
    await launcher(states.endpoint).launch(MESSAGE);

    // Assess
    expect(states.received).toHaveLength(1);
    const [request] = states.received;
    expect(request?.headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/states\//,
    );
    expect(JSON.parse(request?.body ?? '')).toEqual({
      stateMachineArn: MACHINE,
      name: MESSAGE.jobId,
      input: JSON.stringify({ tenant: 'acme', jobId: MESSAGE.jobId }),
    });
  });

  it('retries throttling and server errors, and takes an existing execution of the job as started', async () => {
    // Prepare
    const states = await fakeStates([
      [400, 'ThrottlingException'],
      [500, 'InternalError'],
      [400, 'ExecutionAlreadyExists'],
    ]);

    // Act
    await launcher(states.endpoint).launch(MESSAGE);

    // Assess
    expect(states.received).toHaveLength(3);
  });

  it('fails at once on a rejected request, naming the error', async () => {
    // Prepare
    const states = await fakeStates([[400, 'StateMachineDoesNotExist']]);

    // Act
    const launch = launcher(states.endpoint).launch(MESSAGE);

    // Assess
    await expect(launch).rejects.toThrow(
      'Could not start the export state machine: 400 StateMachineDoesNotExist',
    );
    expect(states.received).toHaveLength(1);
  });

  it('refuses to start anything without a configured state machine', async () => {
    // Prepare
    const states = await fakeStates([[200]]);

    // Act
    const launch = launcher(states.endpoint, null).launch(MESSAGE);

    // Assess
    await expect(launch).rejects.toThrow('No state machine is configured for export jobs');
    expect(states.received).toHaveLength(0);
  });
});
