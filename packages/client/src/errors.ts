/** Which of the service's API dialects answered: each shapes its error bodies differently. */
export type Dialect = 'canary' | 'kore' | 'api-key' | 'storage';

/** Base class of every error this package throws. */
export class AuditTrailError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AuditTrailError';
  }
}

/** A field the api-key dialect named in a 400 (`{message:{errors:[{field, message}]}}`). */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/**
 * The service answered with an error status. `message` is the dialect's own message (canary
 * `message`, kore `errors[].msg`, api-key `message` or its field errors), never the token.
 *
 * @example
 * try { await client.canary.page({ limit: 5000 }); }
 * catch (error) { if (error instanceof AuditTrailApiError && error.status === 400) console.error(error.message); }
 */
export class AuditTrailApiError extends AuditTrailError {
  /** The HTTP status (400, 401, 403, 404, 409, 413, 429, 503, …). */
  readonly status: number;
  readonly dialect: Dialect;
  /** The parsed body (or its text when it was not JSON). */
  readonly body: unknown;
  /** The api-key dialect's field errors, when it named fields. */
  readonly fieldErrors: readonly FieldError[];
  /** Seconds the service asked to wait (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: {
    status: number;
    dialect: Dialect;
    body: unknown;
    retryAfterSeconds?: number | undefined;
    cause?: unknown;
  }) {
    const { message, fieldErrors } = dialectMessage(init.dialect, init.status, init.body);
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AuditTrailApiError';
    this.status = init.status;
    this.dialect = init.dialect;
    this.body = init.body;
    this.fieldErrors = fieldErrors;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The service could not be reached (connection refused, reset, DNS), after the allowed retries. */
export class AuditTrailNetworkError extends AuditTrailError {
  readonly url: string;
  /** The system's reason (`ECONNREFUSED`, `ENOTFOUND`, …), when it gave one. */
  readonly code: string | undefined;
  constructor(url: string, options?: ErrorOptions) {
    const reason = networkReason(options?.cause);
    super(`Cannot reach ${url}${reason ? ` (${reason})` : ''}`, options);
    this.name = 'AuditTrailNetworkError';
    this.url = url;
    this.code = reason && /^E[A-Z_]+$/.test(reason) ? reason : undefined;
  }
}

/** fetch's `TypeError: fetch failed` hides the reason in its cause chain: the first `code`, else the deepest message. */
const networkReason = (error: unknown): string | undefined => {
  let reason: string | undefined;
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if ('code' in cause && typeof cause.code === 'string') return cause.code;
    if (cause !== error) reason = cause.message;
  }
  return reason;
};

/** An export or purge job ended as `failed`. */
export class AuditTrailJobError extends AuditTrailError {
  readonly jobId: string;
  constructor(jobId: string, message: string) {
    super(`Job ${jobId} failed: ${message}`);
    this.name = 'AuditTrailJobError';
    this.jobId = jobId;
  }
}

/** True for any error of this package. */
export const isAuditTrailError = (error: unknown): error is AuditTrailError =>
  error instanceof AuditTrailError;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The message each dialect puts in its error body. */
const dialectMessage = (
  dialect: Dialect,
  status: number,
  body: unknown,
): { message: string; fieldErrors: FieldError[] } => {
  const fallback = `HTTP ${status}${typeof body === 'string' && body.trim() ? `: ${body.trim().slice(0, 200)}` : ''}`;
  if (!isRecord(body)) return { message: fallback, fieldErrors: [] };
  // kore: {errors:[{msg, code}]}
  if (Array.isArray(body.errors)) {
    const messages = body.errors.flatMap((item) =>
      isRecord(item) && typeof item.msg === 'string' ? [item.msg] : [],
    );
    if (messages.length > 0) return { message: messages.join('; '), fieldErrors: [] };
  }
  // api-key 400: {message:{errors:[{field, message}]}, name, status}
  if (isRecord(body.message) && Array.isArray(body.message.errors)) {
    const fieldErrors = body.message.errors.flatMap((item) =>
      isRecord(item) && typeof item.message === 'string'
        ? [{ field: typeof item.field === 'string' ? item.field : '', message: item.message }]
        : [],
    );
    const message = fieldErrors.map((item) => (item.field ? `${item.field}: ${item.message}` : item.message));
    return { message: message.join('; ') || fallback, fieldErrors };
  }
  // canary {result:"error", message} and api-key {message, name, status}
  if (typeof body.message === 'string') return { message: body.message, fieldErrors: [] };
  void dialect;
  return { message: fallback, fieldErrors: [] };
};
