import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { JobKind, JobLauncher, JobMessage } from '../ports/job-launcher.js';

/** Launches workers with asynchronous Lambda invocations (Lambda retries them on failure). */
export class LambdaJobLauncher implements JobLauncher {
  readonly #client: LambdaClient;
  readonly #functions: Readonly<Record<JobKind, string | undefined>>;

  constructor(client: LambdaClient, functions: Readonly<Record<JobKind, string | undefined>>) {
    this.#client = client;
    this.#functions = functions;
  }

  async launch(message: JobMessage): Promise<void> {
    const functionName = this.#functions[message.kind];
    if (!functionName) throw new Error(`No worker function is configured for ${message.kind} jobs`);
    await this.#client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(message)),
      }),
    );
  }
}
