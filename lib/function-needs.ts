/**
 * What each Lambda entry point under `lambdas/handlers/` may touch. The `AuditTrail` construct
 * grants exactly this and nothing else, so a new handler file without an entry here fails synthesis
 * until someone has reviewed what it needs.
 */

/** Access to a DynamoDB table (items and, for the events table, its indexes). */
export type TableAccess = 'read' | 'readWrite';
/**
 * Access to objects of an S3 bucket. `read` includes listing the bucket; `readWriteDelete` adds
 * deleting objects (on the versioned archive bucket that only adds a delete marker).
 */
export type BucketAccess = 'read' | 'write' | 'readWrite' | 'readWriteDelete';

/** How a function is reached; sets its timeout and memory. */
export type FunctionRole =
  /** Behind an API Gateway route (29 s integration limit). */
  | 'api'
  /** The API Gateway REQUEST authorizer. */
  | 'authorizer'
  /** Answers routes nobody serves (404/405 in the dialect's shape). */
  | 'fallback'
  /** A long-running job launched asynchronously by an API function, or a step of the export state machine. */
  | 'worker'
  /** Consumes the ingest queue fed by the EventBridge bus. */
  | 'queue'
  /**
   * Consumes the events table's DynamoDB stream (lib/parts/ingest.ts wires the event source
   * mapping): granted reading that stream, and sending to the stream's on-failure queue.
   */
  | 'stream'
  /**
   * Invoked asynchronously by the HTTP functions' log subscriptions (lib/parts/self-audit.ts) with
   * their self-audit lines; its failed deliveries go to its on-failure queue.
   */
  | 'logs'
  /** Run daily by EventBridge Scheduler. */
  | 'schedule';

/** The grants and wiring of one handler. */
export interface FunctionNeeds {
  readonly role: FunctionRole;
  readonly events?: TableAccess;
  readonly control?: TableAccess;
  readonly exports?: BucketAccess;
  readonly archive?: BucketAccess;
  /** Reads the cursor-signing secret: only the endpoints that issue or read cursors (`composition/cursor-key.ts`). */
  readonly cursorKey?: boolean;
  /** Worker handlers this function launches asynchronously (a worker may name itself). */
  readonly invokes?: readonly string[];
  /**
   * The checkpoint key (KMS, ECC_NIST_EDWARDS25519): `sign` signs checkpoints (the stream consumer),
   * `public` reads its public half (the verifiable-log endpoints).
   */
  readonly tlogKey?: 'sign' | 'public';
  /** Starts export jobs: executions of the export state machine (`composition/export-launcher.ts`). */
  readonly startsExports?: boolean;
  /**
   * Records its calls (the self-audit middleware): it writes each call's record as a line to its
   * log, which the store-self-audit function stores; it needs no write access for that.
   */
  readonly recordsCalls?: boolean;
}

// Every API handler records its own request in the audit trail by handing the record to its log
// (the store-self-audit function stores it), so an endpoint that only reads gets read access only.
const readingApi = { role: 'api', recordsCalls: true, events: 'read', control: 'read' } as const;
// The endpoints that write: entries (ingest; a download's own record, which also reserves id slots
// in the control table), jobs, idempotency keys, purge deletions.
const writingApi = { role: 'api', recordsCalls: true, events: 'readWrite', control: 'readWrite' } as const;

/** The reviewed needs of every handler, keyed by handler file name (without `.ts`). */
export const FUNCTION_NEEDS: Readonly<Record<string, FunctionNeeds>> = {
  authorizer: { role: 'authorizer', control: 'read' },
  // Unknown routes are audited too (their self-audit line goes through the log subscription).
  // It resolves the caller's credential (control table) to file the record under its tenant.
  'not-found': { role: 'fallback', recordsCalls: true, control: 'read' },
  // Serves the bundled OpenAPI document; touches no data and records nothing.
  openapi: { role: 'api' },
  'canary-fetch': { ...readingApi, cursorKey: true },
  // The console page and its browser code: static, touches no data and records nothing.
  console: { role: 'api' },
  'ingest-events': writingApi,
  'ingest-queue': { role: 'queue', events: 'readWrite', control: 'readWrite' },
  // Derives the rollup counters from the events stream: journal and counter items in the control
  // table (GetItem, PutItem, UpdateItem in TransactWriteItems); reads no event item and no bucket;
  // and the verifiable log (journal, heads, tiles, leaf indexes, checkpoints signed with the KMS key).
  'derive-stream': { role: 'stream', control: 'readWrite', tlogKey: 'sign' },
  // The verifiable log's checkpoint, key and proofs: reads the log's items and the key's public half.
  tlog: { ...readingApi, tlogKey: 'public' },
  // Stores the self-audit records the HTTP functions log (their log groups' subscription): entries
  // in the events table, each under an idempotency claim in the control table.
  'store-self-audit': { role: 'logs', events: 'readWrite', control: 'readWrite' },
  // Purges write archive parts (listing and re-reading manifests, deleting parts a crashed run left
  // unlisted) and hand what does not finish in time to the worker.
  // Each purge segment signs a verifiable-log purge receipt (the checkpoint key) before deleting.
  purge: { ...writingApi, archive: 'readWriteDelete', invokes: ['purge-worker'], tlogKey: 'sign' },
  'purge-status': readingApi,
  // Re-launches itself when a run pauses at its time budget.
  'purge-worker': {
    role: 'worker',
    events: 'readWrite',
    control: 'readWrite',
    archive: 'readWriteDelete',
    invokes: ['purge-worker'],
    tlogKey: 'sign',
  },
  'purge-scheduler': {
    role: 'schedule',
    events: 'readWrite',
    control: 'readWrite',
    archive: 'readWriteDelete',
    invokes: ['purge-worker'],
    tlogKey: 'sign',
  },
  'archives-list': { ...readingApi, archive: 'read' },
  'archives-get': { ...readingApi, archive: 'read' },
  // Hands an export that outgrows its request to the export state machine.
  // Its zips carry the verifiable log's proof file, which names the checkpoint key (its public half).
  'download-json': { ...writingApi, exports: 'readWrite', startsExports: true, tlogKey: 'public' },
  // The export state machine's plan, single-worker, finish and abort steps.
  'export-worker': {
    role: 'worker',
    events: 'read',
    control: 'readWrite',
    exports: 'readWrite',
    tlogKey: 'public',
  },
  // One chunk of a parallel export: reads its entries, stores its part (UploadPart) and its record.
  'export-chunk': {
    role: 'worker',
    events: 'read',
    control: 'readWrite',
    exports: 'write',
  },
  // 202 while the export runs, then 303 to a presigned GET of the zip (signing needs read access);
  // handing out the zip records the download (an entry).
  'download-job-status': { ...writingApi, exports: 'read' },
  'kore-auditlogs': readingApi,
  // Parks an oversized page in the exports bucket (a presigned GET).
  'api-key-audit-trail': { ...readingApi, exports: 'readWrite', cursorKey: true },
};

/**
 * Whether `handler`'s function records its calls (the self-audit middleware): its log group gets
 * the subscription that sends self-audit lines to the store-self-audit function. The HTTP functions
 * that touch data; the OpenAPI and console functions record nothing.
 */
export const recordsCalls = (needs: FunctionNeeds): boolean =>
  (needs.role === 'api' || needs.role === 'fallback') && needs.recordsCalls === true;

/** The needs of `handler`; throws a message saying what to do when nobody has reviewed it yet. */
export const needsOf = (handler: string): FunctionNeeds => {
  const needs = FUNCTION_NEEDS[handler];
  if (!needs) {
    throw new Error(
      `lambdas/handlers/${handler}.ts has no entry in FUNCTION_NEEDS (lib/function-needs.ts). ` +
        'Add one listing the tables, buckets, secret and functions it needs, so its permissions get reviewed.',
    );
  }
  return needs;
};
