import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbDocumentClient } from './adapters/aws-clients.js';
import { DynamoDbCounterStore } from './adapters/dynamodb-counter-store.js';
import { DynamoDbEventStore } from './adapters/dynamodb-event-store.js';
import { DynamoDbIdempotencyStore } from './adapters/dynamodb-idempotency-store.js';
import { DynamoDbTokenStore } from './adapters/dynamodb-token-store.js';
import { InProcessJobLauncher } from './adapters/in-process-job-launcher.js';
import { LambdaJobLauncher } from './adapters/lambda-job-launcher.js';
import { loadConfig, type ServiceConfig } from './config.js';
import type { TokenStore } from './ports/control-store.js';
import type { CounterStore } from './ports/counter-store.js';
import type { EventStore } from './ports/event-store.js';
import type { IdempotencyStore } from './ports/idempotency-store.js';
import type { JobLauncher } from './ports/job-launcher.js';
import { Authenticator } from './use-cases/authenticate.js';

/** Everything handlers need, built once per container from the configuration. */
export interface Services {
  readonly config: ServiceConfig;
  readonly doc: DynamoDBDocumentClient;
  readonly events: EventStore;
  readonly counters: CounterStore;
  readonly tokens: TokenStore;
  readonly authenticator: Authenticator;
  readonly cursorKey: Uint8Array;
  readonly clock: () => number;
  readonly jobs: JobLauncher;
  readonly idempotency: IdempotencyStore;
}

const readCursorKey = async (config: ServiceConfig): Promise<Uint8Array> => {
  let encoded = config.CURSOR_KEY;
  if (!encoded && config.CURSOR_KEY_SECRET_ARN) {
    const client = new SecretsManagerClient({ region: config.AWS_REGION });
    const secret = await client.send(new GetSecretValueCommand({ SecretId: config.CURSOR_KEY_SECRET_ARN }));
    encoded = secret.SecretString;
  }
  const key = Buffer.from(encoded ?? '', 'base64');
  if (key.length < 32) throw new Error('The cursor-signing key must be at least 32 bytes (base64)');
  return key;
};

/** Builds the services for `config`. */
export const buildServices = async (config: ServiceConfig): Promise<Services> => {
  const doc = createDynamoDbDocumentClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { dynamoDbEndpoint: config.DYNAMODB_ENDPOINT } : {}),
  });
  const tables = { eventsTable: config.EVENTS_TABLE, controlTable: config.CONTROL_TABLE };
  const tokens = new DynamoDbTokenStore(doc, tables);
  return {
    config,
    doc,
    events: new DynamoDbEventStore(doc, tables),
    counters: new DynamoDbCounterStore(doc, tables),
    tokens,
    authenticator: new Authenticator(tokens, { cacheSeconds: config.AUTH_CACHE_SECONDS }),
    cursorKey: await readCursorKey(config),
    clock: Date.now,
    jobs:
      config.JOB_LAUNCHER === 'in-process'
        ? new InProcessJobLauncher({ budgetMs: config.LOCAL_WORKER_BUDGET_MS })
        : new LambdaJobLauncher(new LambdaClient({ region: config.AWS_REGION }), {
            purge: config.PURGE_WORKER_FUNCTION,
            export: config.EXPORT_WORKER_FUNCTION,
          }),
    idempotency: new DynamoDbIdempotencyStore(doc, { controlTable: config.CONTROL_TABLE }),
  };
};

let services: Promise<Services> | undefined;

/** The container's services, built on first use from `process.env`. */
export const getServices = (): Promise<Services> => {
  services ??= buildServices(loadConfig(process.env)).catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
};
