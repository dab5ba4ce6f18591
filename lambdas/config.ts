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
  AUTH_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** `lambda` in AWS (asynchronous invocation of the worker functions below); `in-process` locally. */
  JOB_LAUNCHER: z.enum(['lambda', 'in-process']).default('lambda'),
  PURGE_WORKER_FUNCTION: z.string().optional(),
  EXPORT_WORKER_FUNCTION: z.string().optional(),
  /** A worker's time budget when run in-process (locally); in AWS it is the function's timeout. */
  LOCAL_WORKER_BUDGET_MS: z.coerce.number().int().min(1000).default(900_000),
});

export type ServiceConfig = z.infer<typeof schema>;

/** Validates `env`; throws one readable error naming every problem. */
export const loadConfig = (env: Readonly<Record<string, string | undefined>>): ServiceConfig => {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  if (!parsed.data.CURSOR_KEY && !parsed.data.CURSOR_KEY_SECRET_ARN) {
    throw new Error('Invalid configuration: set CURSOR_KEY or CURSOR_KEY_SECRET_ARN');
  }
  return parsed.data;
};
