/**
 * Typed errors thrown by the domain and use cases. Each carries the HTTP status it maps to; the
 * dialect error middleware turns them into each dialect's error body. Messages are shown to
 * callers, so they must never contain credentials.
 */
export abstract class AuditTrailError extends Error {
  abstract readonly statusCode: number;
  /** The request parameter at fault, when there is one (the api-key dialect reports it). */
  readonly field: string | undefined;

  constructor(message: string, options?: ErrorOptions & { field?: string }) {
    super(message, options);
    this.field = options?.field;
  }
}

/** 400: a parameter or body is malformed or out of range. */
export class BadRequestError extends AuditTrailError {
  readonly statusCode = 400;
  override readonly name = 'BadRequestError';
  /** Every problem found, one per field, for dialects that report them all at once. */
  readonly problems: ReadonlyArray<{ field: string; message: string }>;

  constructor(
    message: string,
    options?: ErrorOptions & { field?: string; problems?: { field: string; message: string }[] },
  ) {
    super(message, options);
    this.problems = options?.problems ?? (options?.field ? [{ field: options.field, message }] : []);
  }
}

/**
 * 400: one event of a batch cannot be stored as it is (its item would be too large for the store,
 * or it cannot be sealed). Thrown by the event store before it writes anything of the batch.
 * `index` is the event's position in the batch; the message names it as `events[index]`.
 */
export class UnstorableEventError extends BadRequestError {
  readonly index: number;
  /** Where in the event, as `.user` or `.additional_information.items[2]`; empty for the event. */
  readonly path: string;
  readonly reason: string;

  constructor(index: number, reason: string, options?: ErrorOptions & { path?: string }) {
    const path = options?.path ?? '';
    super(`events[${index}]${path} ${reason}`, { ...options, field: `events[${index}]${path}` });
    this.index = index;
    this.path = path;
    this.reason = reason;
  }
}

/** 401: no credential, or one this service does not know. */
export class UnauthorizedError extends AuditTrailError {
  readonly statusCode = 401;
  override readonly name = 'UnauthorizedError';
}

/** 403: a known credential without the scope the endpoint needs. */
export class ForbiddenError extends AuditTrailError {
  readonly statusCode = 403;
  override readonly name = 'ForbiddenError';
}

/** 404: the resource does not exist for this tenant (other tenants' resources look absent too). */
export class NotFoundError extends AuditTrailError {
  readonly statusCode = 404;
  override readonly name = 'NotFoundError';
}

/** 405: the path exists but not with this method. */
export class MethodNotAllowedError extends AuditTrailError {
  readonly statusCode = 405;
  override readonly name = 'MethodNotAllowedError';
}

/** 409: the request conflicts with one already made (an idempotency key reused with another body). */
export class ConflictError extends AuditTrailError {
  readonly statusCode = 409;
  override readonly name = 'ConflictError';
}

/** 413: a request or response body is larger than the dialect allows. */
export class PayloadTooLargeError extends AuditTrailError {
  readonly statusCode = 413;
  override readonly name = 'PayloadTooLargeError';
}

/** 415: the request body is in a media type the endpoint does not take. */
export class UnsupportedMediaTypeError extends AuditTrailError {
  readonly statusCode = 415;
  override readonly name = 'UnsupportedMediaTypeError';
}

/** Options of the errors a caller should retry: how long to wait (the `Retry-After` header). */
export type RetryableErrorOptions = ErrorOptions & { field?: string; retryAfterSeconds?: number };

/** 429: the store is throttling us and the retry budget is spent; the caller may retry later. */
export class TooManyRequestsError extends AuditTrailError {
  readonly statusCode = 429;
  override readonly name = 'TooManyRequestsError';
  /** Seconds the caller should wait before retrying (`Retry-After`). */
  readonly retryAfterSeconds: number;

  constructor(message: string, options?: RetryableErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1;
  }
}

/**
 * 429 after part of a batch was stored for good: the store was busy before the rest was written.
 * The message says which events were stored; what the caller should do next is its transport's
 * to say (an HTTP caller retries with the same Idempotency-Key; a queue redelivers).
 */
export class PartiallyWrittenError extends TooManyRequestsError {}

/** 503: a dependency (e.g. the export bucket) failed; nothing was left half-done and the caller may retry. */
export class ServiceUnavailableError extends AuditTrailError {
  readonly statusCode = 503;
  override readonly name = 'ServiceUnavailableError';
  /** Seconds the caller should wait before retrying (`Retry-After`). */
  readonly retryAfterSeconds: number;

  constructor(message: string, options?: RetryableErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 5;
  }
}

/** True for errors whose message is safe and meant to be shown to the caller. */
export const isAuditTrailError = (error: unknown): error is AuditTrailError =>
  error instanceof AuditTrailError;

/** 500: something unexpected; its message is generic and the cause is only logged. */
export class InternalError extends AuditTrailError {
  readonly statusCode = 500;
  override readonly name = 'InternalError';
}

/*
 * Errors that are never the caller's to see. They are deliberately not AuditTrailErrors: the HTTP
 * layer logs them (name and stack) and answers a bare 500, the queue consumer reports the message
 * as failed, and a job step fails, exactly as for any unexpected error. They exist so that logs
 * and tests can tell these failures apart by type instead of by message.
 */

/** The deployment's configuration is missing or invalid (an environment variable, a bucket, a key). */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** A condition the code relies on did not hold: a bug, a miswired handler, or a store that broke its contract. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** A service this one depends on refused a request or kept failing past the retries. */
export class DependencyError extends Error {
  override readonly name = 'DependencyError';
}
