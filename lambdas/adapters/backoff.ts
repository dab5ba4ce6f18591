/** Retry pacing for store writes: exponential backoff with full jitter, and a bounded budget. */
export interface BackoffPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { maxAttempts: 12, baseDelayMs: 20, maxDelayMs: 2000 };

/** Waits before retry number `attempt` (1 = the first retry). */
export const backoffDelay = (
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): Promise<void> => {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 20));
  return new Promise((resolve) => setTimeout(resolve, Math.floor(random() * ceiling)));
};

const THROTTLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
]);

/** Throttling that survived the SDK's own retries; worth another, slower try. */
export const isThrottle = (error: unknown): boolean =>
  error instanceof Error && THROTTLE_NAMES.has(error.name);
