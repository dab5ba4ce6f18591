import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import { counterItemDeltas } from '../../lambdas/adapters/dynamodb-counters.js';
import { eventsPartition, tenantCounterPrefix } from '../../lambdas/adapters/dynamodb-keys.js';
import type { Services } from '../../lambdas/composition/dynamodb.js';
import type { AuditRecord } from '../../lambdas/domain/record.js';
import { settleDerivation } from './local-service.js';

/**
 * Fault injection for the fault suite (test/faults). Faults go on the real SDK clients as a
 * middleware at the `initialize` step, above the SDK's own retries: the emulators stay underneath,
 * so what a test asserts afterwards is what DynamoDB Local / s3rver really stored.
 */

/** One step of a client's middleware chain, as the fault middleware sees it. */
type Handler = (args: { input: object }) => Promise<{ output: object }>;

/**
 * A client whose middleware stack can take a fault (DynamoDB document client or S3 client). Method
 * syntax on purpose: it lets both clients' differently typed stacks fit this one shape.
 */
export interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string },
    ): void;
    remove(name: string): boolean;
  };
}

/**
 * What to do with one command: `'before'` throws instead of sending it, `'after'` sends it (the
 * store applies it) and then throws as if the answer was lost, `undefined` lets it through.
 */
export type FaultDecision = 'before' | 'after' | undefined;

/**
 * Adds a fault middleware named `name`; `decide` sees every command (name and input) and `error`
 * makes the error thrown. Returns a function that removes it.
 */
export const injectFault = (
  client: MiddlewareClient,
  name: string,
  decide: (commandName: string, input: Record<string, unknown>) => FaultDecision,
  error: () => Error,
): (() => void) => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const decision = decide(context.commandName ?? '', args.input as Record<string, unknown>);
      if (decision === 'before') throw error();
      const output = await next(args);
      if (decision === 'after') throw error();
      return output;
    },
    { step: 'initialize', name },
  );
  return () => {
    client.middlewareStack.remove(name);
  };
};

/** An error shaped like the one DynamoDB (or S3) answers with `name` after the SDK gave up retrying. */
export const awsError = (name: string, message = 'injected fault', fault: 'client' | 'server' = 'client') =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: {} });

/** Every item of the tenant's partition in the events table, read with strongly consistent queries. */
export const storedItems = async (services: Services, tenant: string): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  const pages = paginateQuery(
    { client: services.doc },
    {
      TableName: services.config.EVENTS_TABLE,
      KeyConditionExpression: 'tenant = :t',
      ExpressionAttributeValues: { ':t': eventsPartition(tenant) },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
};

/**
 * Compares every rollup counter of the tenant (total, day and hour; overall, per action and per
 * actor; all shards added up) with what the stored entries imply, and returns the differences as
 * `counter: stored ≠ implied` (empty when exact). Counters purged down to zero count as absent.
 */
export const rollupMismatches = async (services: Services, tenant: string): Promise<string[]> => {
  // Counters are exact once the stream consumer has derived every write made so far.
  await settleDerivation();
  const items = await storedItems(services, tenant);
  const implied = new Map<string, number>();
  const withoutShard = (pk: string, sk: string) => `${pk}|${sk.replace(/\d+$/, '')}`;
  for (const { key, delta } of counterItemDeltas(items as unknown as AuditRecord[], 1, 0))
    implied.set(withoutShard(key.pk, key.sk), delta);
  const stored = new Map<string, number>();
  const pages = paginateScan(
    { client: services.doc },
    {
      TableName: services.config.CONTROL_TABLE,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': tenantCounterPrefix(tenant) },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const id = withoutShard(String(item.pk), String(item.sk));
      stored.set(id, (stored.get(id) ?? 0) + Number(item.n));
    }
  }
  const problems: string[] = [];
  for (const id of new Set([...implied.keys(), ...stored.keys()])) {
    const [counted, real] = [stored.get(id) ?? 0, implied.get(id) ?? 0];
    if (counted !== real) problems.push(`${id}: ${counted} ≠ ${real}`);
  }
  return problems.sort();
};

/** What a multipart upload went through while {@link failMultipartPart} watched it. */
export interface MultipartTrace {
  /** Upload ids CreateMultipartUpload returned. */
  readonly created: string[];
  /** Upload ids AbortMultipartUpload was sent for. */
  readonly aborted: string[];
  /** UploadPart calls, the failed one included. */
  partsSent: number;
  completed: number;
  /** Removes the fault. */
  readonly remove: () => void;
}

/**
 * Makes UploadPart number `failingPart` (1-based, counted over the client) fail as if S3 stayed
 * unavailable through the SDK's retries, and records every multipart step. s3rver implements
 * neither AbortMultipartUpload nor ListMultipartUploads, so aborts are recorded (and answered)
 * here instead of reaching it.
 */
export const failMultipartPart = (
  s3: MiddlewareClient,
  failingPart: number,
  name = 'failMultipartPart',
): MultipartTrace => {
  const trace: MultipartTrace = {
    created: [],
    aborted: [],
    partsSent: 0,
    completed: 0,
    remove: () => {
      s3.middlewareStack.remove(name);
    },
  };
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { UploadId?: string };
      switch (context.commandName) {
        case 'UploadPartCommand':
          trace.partsSent += 1;
          if (trace.partsSent === failingPart)
            throw awsError('InternalError', 'We encountered an internal error. Please try again.', 'server');
          break;
        case 'AbortMultipartUploadCommand':
          trace.aborted.push(String(input.UploadId));
          return { output: { $metadata: {} } };
        case 'CompleteMultipartUploadCommand':
          trace.completed += 1;
          break;
        case 'CreateMultipartUploadCommand': {
          const result = await next(args);
          trace.created.push(String((result.output as { UploadId?: string }).UploadId));
          return result;
        }
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return trace;
};

/** The write requests of one BatchWriteItem call, for one table. */
export type WriteRequests = Record<string, unknown>[];

/**
 * Makes BatchWriteItem calls leave requests unprocessed, as DynamoDB does when a partition is
 * throttled: `admit` says how many of a call's requests the real emulator gets to apply; the rest
 * come back as `UnprocessedItems` (with any the emulator left unprocessed itself). `onHeld` hears
 * how many were held back. Returns a function that removes the fault.
 */
export const partialBatchWrites = (
  client: MiddlewareClient,
  admit: (requests: WriteRequests) => number,
  onHeld: (count: number) => void = () => undefined,
  name = 'partialBatchWrites',
): (() => void) => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand') return next(args);
      const input = args.input as { RequestItems: Record<string, WriteRequests> };
      const [table, requests] = Object.entries(input.RequestItems)[0] ?? ['', []];
      const admitted = Math.min(requests.length, Math.max(0, admit(requests)));
      const held = requests.slice(admitted);
      if (held.length === 0) return next(args);
      onHeld(held.length);
      if (admitted === 0) return { output: { $metadata: {}, UnprocessedItems: { [table]: held } } };
      const result = await next({
        ...args,
        input: { ...input, RequestItems: { [table]: requests.slice(0, admitted) } },
      });
      const output = result.output as { UnprocessedItems?: Record<string, WriteRequests> };
      const leftOver = output.UnprocessedItems?.[table] ?? [];
      return { ...result, output: { ...output, UnprocessedItems: { [table]: [...leftOver, ...held] } } };
    },
    { step: 'initialize', name },
  );
  return () => {
    client.middlewareStack.remove(name);
  };
};
