import * as z from 'zod';

/** Service configuration, read once from the environment and validated. */
const schema = z.object({
  EVENTS_TABLE: z.string().min(3, 'EVENTS_TABLE must name the events table'),
  CONTROL_TABLE: z.string().min(3, 'CONTROL_TABLE must name the control table'),
  EXPORTS_BUCKET: z.string().min(3).optional(),
  ARCHIVE_BUCKET: z.string().min(3).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  S3_ENDPOINT: z.url().optional(),
  /** Cursor-signing key, base64 (at least 32 bytes). Locally generated; in AWS use the secret below. */
  CURSOR_KEY: z.string().optional(),
  /** Secrets Manager secret holding the cursor-signing key (its SecretString, base64). */
  CURSOR_KEY_SECRET_ARN: z.string().optional(),
  CURSOR_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  /** Retention of tenants that never set their own (the CDK construct's `defaultRetentionDays`). */
  DEFAULT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  /** Whether purged entries are archived for tenants that never chose (the construct's `archiveEnabled`). */
  ARCHIVE_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** `lambda` in AWS (asynchronous invocation of the worker functions below); `in-process` locally. */
  JOB_LAUNCHER: z.enum(['lambda', 'in-process']).default('lambda'),
  PURGE_WORKER_FUNCTION: z.string().optional(),
  EXPORT_WORKER_FUNCTION: z.string().optional(),
  /** A worker's time budget when run in-process (locally); in AWS it is the function's timeout. */
  LOCAL_WORKER_BUDGET_MS: z.coerce.number().int().min(1000).default(900_000),
  /** At most this long is spent purging inside a request before the rest goes to the purge worker. */
  PURGE_REQUEST_BUDGET_MS: z.coerce.number().int().min(0).default(20_000),
  /** Entries per archive part (gzip JSON Lines object). */
  PURGE_PART_ENTRIES: z.coerce.number().int().min(1).max(50_000).default(10_000),
  /** How long a purge runner holds its job; a crashed runner's job is taken over after this. */
  PURGE_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** Lifetime of presigned archive URLs (5 minutes at most). */
  ARCHIVE_URL_SECONDS: z.coerce.number().int().min(1).max(300).default(300),
  /**
   * Largest zip answered inline. Lambda's 6 MB response limit applies after base64 (×4/3), so
   * 4 MiB is the most that fits; larger zips go to EXPORTS_BUCKET and the answer is a 303.
   */
  DOWNLOAD_INLINE_MAX_BYTES: z.coerce.number().int().min(0).max(4_194_304).default(4_194_304),
  /** Lifetime of a download's presigned URL (at most 5 minutes). */
  DOWNLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(300).default(300),
  /** Multipart part size of exports written to S3 (S3's minimum, 5 MiB, keeps memory lowest). */
  DOWNLOAD_PART_SIZE_BYTES: z.coerce.number().int().min(5_242_880).max(104_857_600).default(5_242_880),
  /** Time kept free at the end of a download request (for the upload's end, the URL and the record). */
  DOWNLOAD_BUDGET_MARGIN_MS: z.coerce.number().int().min(0).default(5000),
  /** A fixed request budget instead of the Lambda's remaining time (tests use a tiny one). */
  DOWNLOAD_REQUEST_BUDGET_MS: z.coerce.number().int().min(0).optional(),
  /** How long a completed export job is served to further downloads of its tenant. */
  DOWNLOAD_REUSE_SECONDS: z.coerce.number().int().min(0).max(86400).default(600),
});

export type ServiceConfig = z.infer<typeof schema>;

/** Validates `env`; throws one readable error naming every problem. */
export const loadConfig = (env: Readonly<Record<string, string | undefined>>): ServiceConfig => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
};
