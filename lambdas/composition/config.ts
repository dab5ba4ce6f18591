import { ConfigurationError } from '../domain/errors.js';
import * as z from '../domain/zod.js';

/** An integer setting from the environment (a string), within bounds. */
const boundedInteger = (min: number, max: number) =>
  z.pipe(z.coerce.number(), z.int().check(z.minimum(min), z.maximum(max)));

/** An integer setting with a default. */
const integer = (min: number, max: number, fallback: number) =>
  z._default(boundedInteger(min, max), fallback);

/** An origin as browsers send it: scheme, host and optional port; no path, no wildcard. */
const ORIGIN = /^https?:\/\/(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Comma-separated origins, each exact (see ORIGIN); empty: CORS off. */
const originList = z.pipe(
  z._default(z.string(), ''),
  z.transform((text, context) => {
    const origins = text
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin.length > 0);
    for (const origin of origins) {
      if (!ORIGIN.test(origin))
        context.issues.push({
          code: 'custom',
          message: `"${origin.slice(0, 100)}" is not an origin (scheme://host[:port], no path, no wildcard)`,
          input: text,
        });
    }
    return origins;
  }),
);

/**
 * Hot tenants given write shards by configuration, `tenant=k` comma-separated (k 1–64): see
 * docs/architecture.md, "Hot tenants". Empty (the default): shards come from measured load only.
 */
const hotTenantShards = z.pipe(
  z._default(z.string(), ''),
  z.transform((text, context) => {
    const shards = new Map<string, number>();
    for (const pair of text.split(',').map((entry) => entry.trim())) {
      if (pair.length === 0) continue;
      const match = /^([A-Za-z0-9._-]{3,64})=([1-9][0-9]?)$/.exec(pair);
      const k = Number(match?.[2]);
      if (!match || k > 64) {
        context.issues.push({
          code: 'custom',
          message: `"${pair.slice(0, 100)}" is not tenant=k (a tenant name and 1 to 64 shards)`,
          input: text,
        });
        continue;
      }
      shards.set(match[1] as string, k);
    }
    return shards as ReadonlyMap<string, number>;
  }),
);

/** Service configuration, read once from the environment and validated. */
const schema = z.object({
  EVENTS_TABLE: z.string().check(z.minLength(3, 'EVENTS_TABLE must name the events table')),
  CONTROL_TABLE: z.string().check(z.minLength(3, 'CONTROL_TABLE must name the control table')),
  EXPORTS_BUCKET: z.optional(z.string().check(z.minLength(3))),
  ARCHIVE_BUCKET: z.optional(z.string().check(z.minLength(3))),
  AWS_REGION: z._default(z.string().check(z.minLength(1)), 'us-east-1'),
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  /** With DYNAMODB_ENDPOINT: the DynamoDB Local database (its access key id; tests use one per service). */
  DYNAMODB_LOCAL_DATABASE: z.optional(z.string().check(z.regex(/^[A-Za-z0-9]{1,64}$/))),
  S3_ENDPOINT: z.optional(z.url()),
  /** Cursor-signing key, base64 (at least 32 bytes). Locally generated; in AWS use the secret below. */
  CURSOR_KEY: z.optional(z.string()),
  /** Secrets Manager secret holding the cursor-signing key (its SecretString, base64). */
  CURSOR_KEY_SECRET_ARN: z.optional(z.string()),
  CURSOR_TTL_SECONDS: integer(60, 7 * 86400, 86400),
  /** Retention of tenants that never set their own (the CDK construct's `defaultRetentionDays`). */
  DEFAULT_RETENTION_DAYS: integer(1, 36_500, 365),
  /**
   * Retention of the records of calls made without a usable credential (the `#unauthenticated`
   * partition; the construct's `unauthenticatedRetentionDays`). They are never archived.
   */
  UNAUTHENTICATED_RETENTION_DAYS: integer(1, 36_500, 30),
  /** Whether purged entries are archived for tenants that never chose (the construct's `archiveEnabled`). */
  ARCHIVE_ENABLED: z.pipe(
    z._default(z.enum(['true', 'false']), 'true'),
    z.transform((value) => value === 'true'),
  ),
  AUTH_CACHE_SECONDS: integer(0, 300, 30),
  /** `lambda` in AWS (asynchronous invocation of the worker functions below); `in-process` locally. */
  JOB_LAUNCHER: z._default(z.enum(['lambda', 'in-process']), 'lambda'),
  PURGE_WORKER_FUNCTION: z.optional(z.string()),
  /** The export state machine (Step Functions) that runs export jobs, with `JOB_LAUNCHER=lambda`. */
  EXPORT_STATE_MACHINE_ARN: z.optional(z.string()),
  /** A worker's time budget when run in-process (locally); in AWS it is the function's timeout. */
  LOCAL_WORKER_BUDGET_MS: integer(1000, Number.MAX_SAFE_INTEGER, 900_000),
  /** At most this long is spent purging inside a request before the rest goes to the purge worker. */
  PURGE_REQUEST_BUDGET_MS: integer(0, Number.MAX_SAFE_INTEGER, 20_000),
  /** Entries per archive part (gzip JSON Lines object). */
  PURGE_PART_ENTRIES: integer(1, 50_000, 10_000),
  /** How long a purge runner holds its job; a crashed runner's job is taken over after this. */
  PURGE_LEASE_SECONDS: integer(1, 3600, 120),
  /** Lifetime of presigned archive URLs (5 minutes at most). */
  ARCHIVE_URL_SECONDS: integer(1, 300, 300),
  /**
   * Largest zip answered inline. Lambda's 6 MB response limit applies after base64 (×4/3), so
   * 4 MiB is the most that fits; larger zips go to EXPORTS_BUCKET and the answer is a 303.
   */
  DOWNLOAD_INLINE_MAX_BYTES: integer(0, 4_194_304, 4_194_304),
  /** Lifetime of a download's presigned URL (at most 5 minutes). */
  DOWNLOAD_URL_TTL_SECONDS: integer(1, 300, 300),
  /** Multipart part size of exports written to S3 (S3's minimum, 5 MiB, keeps memory lowest). */
  DOWNLOAD_PART_SIZE_BYTES: integer(5_242_880, 104_857_600, 5_242_880),
  /** Time kept free at the end of a download request (for the upload's end, the URL and the record). */
  DOWNLOAD_BUDGET_MARGIN_MS: integer(0, Number.MAX_SAFE_INTEGER, 5000),
  /** A fixed request budget instead of the Lambda's remaining time (tests use a tiny one). */
  DOWNLOAD_REQUEST_BUDGET_MS: z.optional(boundedInteger(0, Number.MAX_SAFE_INTEGER)),
  /** How long a completed export job is served to further downloads of its tenant. */
  DOWNLOAD_REUSE_SECONDS: integer(0, 86400, 600),
  /**
   * Origins whose browser pages may call the API (CORS), comma-separated; empty (the default):
   * CORS off, no `Access-Control-*` header on any answer. The construct's `corsAllowOrigins`.
   */
  CORS_ALLOW_ORIGINS: originList,
  /** Write shards forced for hot tenants, `tenant=k,…` (a floor under the measured plans; raise only). */
  HOT_TENANT_SHARDS: hotTenantShards,
  /**
   * Write units a second one partition key is planned to carry: a tenant whose measured peak rate
   * needs more gets write shards (DynamoDB's limit is 1,000; the headroom absorbs bursts).
   */
  HOT_TENANT_UNITS_PER_KEY: integer(1, 1000, 700),
  /**
   * Parallel export jobs: S3's smallest multipart part. Chunks are sized for three times this; a
   * smaller value is for tests on the S3 emulator only (S3 rejects parts under 5 MiB).
   */
  EXPORT_MIN_PART_BYTES: integer(1, 5_368_709_120, 5_242_880),
  /** Most entries in one export chunk: about two minutes at the measured ~13.5k entries/s. */
  EXPORT_CHUNK_MAX_ENTRIES: integer(1, 50_000_000, 1_500_000),
  /** Write ZIP64 records in parallel exports even when the sizes do not need them (tests). */
  EXPORT_FORCE_ZIP64: z.pipe(
    z._default(z.enum(['true', 'false']), 'false'),
    z.transform((value) => value === 'true'),
  ),
  /**
   * Locally: the journal file each call's self-audit record is appended to (the local stack's
   * journal consumer stores them). Unset (in AWS): the record is a log line on stdout, which the
   * log group's subscription sends to the store-self-audit function.
   */
  SELF_AUDIT_JOURNAL: z.optional(z.string().check(z.minLength(1))),
  /** Chunks run at once by the local (in-process) export driver; in AWS the state machine's Map sets it. */
  EXPORT_CONCURRENCY: integer(1, 40, 4),
  /** The local export driver's first retry delay (the state machine's is 2 s, doubling). */
  EXPORT_RETRY_INTERVAL_MS: integer(0, 60_000, 2000),
  /**
   * The verifiable log's name (C2SP origin; also the signing key's name): a tenant's log is
   * `<TLOG_ORIGIN>/<tenant>`. One line, no spaces or `+`.
   */
  TLOG_ORIGIN: z._default(
    z.string().check(z.regex(/^[^\s+]{1,200}$/, 'TLOG_ORIGIN must be one word without "+"')),
    'audit-trail.local',
  ),
  /** The checkpoint signing key as a C2SP signer key (`PRIVATE+KEY+…`, Ed25519); locally generated. */
  TLOG_SIGNING_KEY: z.optional(z.string()),
  /**
   * How long a download waits, at most, for a checkpoint covering its newest entry before its proof
   * file goes with the latest one (the verifier then names the entries it does not cover). The
   * wait starts once the document is written, two item reads per 100 ms; 0 never waits.
   */
  TLOG_EXPORT_WAIT_MS: integer(0, 60_000, 1000),
  /**
   * The least time between two checkpoints of a tenant that the stream consumer signs inside a
   * chunk's transaction (0: every chunk that appends to it, at no extra request). Whatever a
   * delivery leaves uncovered is signed at its end regardless, so a checkpoint covers every entry
   * once the delivery holding it is done. Raise it to spend fewer KMS calls per chunk.
   */
  TLOG_CHECKPOINT_INTERVAL_MS: integer(0, 60_000, 0),
  /** In AWS: the KMS key (ECC_NIST_EDWARDS25519, SIGN_VERIFY) that signs checkpoints. */
  TLOG_KMS_KEY_ID: z.optional(z.string()),
});

export type ServiceConfig = z.infer<typeof schema>;

/** Every setting's name (the environment variables the configuration reads). */
export const CONFIG_KEYS: readonly string[] = Object.keys(schema.shape);

/** Validates `env`; throws one readable error naming every problem. */
export const loadConfig = (env: Readonly<Record<string, string | undefined>>): ServiceConfig => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigurationError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
};
