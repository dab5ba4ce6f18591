import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventDraft } from '../lambdas/domain/record.js';
import type { LocalService } from '../local/stack.js';

/** One figure of the benchmark report. */
export interface Measurement {
  /** Stable id, e.g. "fetch.read-amplification". */
  readonly id: string;
  /** The issue that set the goal. */
  readonly issue: number;
  readonly description: string;
  readonly value: number;
  readonly unit: string;
  /** The goal, when there is one: value must be <= or >= the target. */
  readonly goal?: { readonly op: '<=' | '>='; readonly target: number };
  /** What was compared to what, sizes included. */
  readonly details: string;
}

/** What every bench module gets. */
export interface BenchContext {
  readonly service: LocalService;
  readonly quick: boolean;
  /** Unique tenant names per bench module and size. */
  tenant(name: string): string;
  /** Writes `drafts` for `tenant` through the event store, `concurrency` batches at a time, and waits
   * until the stream consumer has derived their counters. */
  seed(tenant: string, drafts: readonly EventDraft[], concurrency?: number): Promise<void>;
  /**
   * Sums the read/write capacity DynamoDB reports for everything `work` sends (and only that: the
   * stream consumer's background writes are not counted; measurements do not nest).
   */
  measureCapacity<T>(work: () => Promise<T>): Promise<{ result: T; readUnits: number; writeUnits: number }>;
}

/** A bench module: measures something and returns its figures. */
export type BenchModule = (context: BenchContext) => Promise<Measurement[]>;

interface CapacityOutput {
  ConsumedCapacity?: CapacityEntry | CapacityEntry[];
}
interface CapacityEntry {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

/**
 * Makes every request of `doc` ask for its consumed capacity and reports it to `sink`, so a whole
 * use case (counter reads included) can be costed exactly.
 */
export const trackCapacity = (
  doc: DynamoDBDocumentClient,
  sink: (read: number, write: number) => void,
): void => {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      if (!('ReturnConsumedCapacity' in input)) input.ReturnConsumedCapacity = 'TOTAL';
      const output = await next(args);
      const consumed = (output.output as CapacityOutput).ConsumedCapacity;
      const isRead = /^(Get|Query|Scan|BatchGet|TransactGet)/.test(context.commandName ?? '');
      for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        const units = entry.CapacityUnits ?? 0;
        sink(isRead ? units : 0, isRead ? 0 : units);
      }
      return output;
    },
    { step: 'initialize', name: 'benchCapacity' },
  );
};
