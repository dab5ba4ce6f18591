import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { log } from '../adapters/log.js';
import {
  type AuditTrailError,
  InternalError,
  isAuditTrailError,
  PartiallyWrittenError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '../domain/errors.js';
import { type Dialect, errorResponse } from './dialects.js';
import { requestState } from './request-state.js';

/** Error names AWS services use when they throttle a caller (DynamoDB, S3, Lambda, Secrets Manager). */
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
]);

/**
 * What an AWS SDK error that escaped the adapters means to the caller, once the SDK's own retries
 * are spent: throttling is a 429, a fault on the service's side a 503 (both invite a retry, with
 * `Retry-After`). Anything else is not classified here.
 */
export const awsErrorAsHttp = (error: unknown): AuditTrailError | undefined => {
  if (!(error instanceof Error)) return undefined;
  const sdk = error as Error & {
    $fault?: unknown;
    $retryable?: { throttling?: unknown };
    $metadata?: { httpStatusCode?: unknown };
  };
  if (sdk.$metadata === undefined) return undefined;
  if (THROTTLING_NAMES.has(error.name) || sdk.$retryable?.throttling === true)
    return new TooManyRequestsError('The audit store is busy; retry later', { cause: error });
  const status = sdk.$metadata.httpStatusCode;
  if (sdk.$fault === 'server' || (typeof status === 'number' && status >= 500))
    return new ServiceUnavailableError('A storage service failed; retry later', { cause: error });
  return undefined;
};

/** What an HTTP caller is told to do after a partial write: the store's error says what happened. */
const RETRY_ADVICE = 'Retry with the same Idempotency-Key to complete the request without duplicates.';

/** A domain error as an HTTP caller sees it: with the advice that only HTTP callers can follow. */
export const withHttpAdvice = (error: AuditTrailError): AuditTrailError =>
  error instanceof PartiallyWrittenError
    ? new TooManyRequestsError(`${error.message} ${RETRY_ADVICE}`, {
        cause: error,
        retryAfterSeconds: error.retryAfterSeconds,
      })
    : error;

/**
 * Turns thrown errors into the dialect's error body. Domain errors show their message; AWS
 * throttling and server faults become 429 and 503 with `Retry-After`; anything else is logged
 * (name and stack only, never the request) and answered with a bare 500.
 */
export const dialectErrors = (
  dialect: Dialect,
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  onError: async (request) => {
    if (request.response && request.response.statusCode < 500) return;
    const { error } = request;
    if (isAuditTrailError(error)) {
      const shown = withHttpAdvice(error);
      requestState(request).shownError = shown.message;
      request.response = errorResponse(dialect, shown);
      return;
    }
    // Self-audit files anything but a domain error as an internal one, whatever the answer says.
    requestState(request).shownError = 'Internal error';
    const classified = awsErrorAsHttp(error);
    if (classified) {
      log.warn('dependency failure', { error: error instanceof Error ? error.name : 'unknown' });
      request.response = errorResponse(dialect, classified);
      return;
    }
    log.error('unhandled error', {
      error: error instanceof Error ? { name: error.name, stack: error.stack } : String(error),
    });
    request.response = errorResponse(dialect, new InternalError('Internal error'));
  },
});
