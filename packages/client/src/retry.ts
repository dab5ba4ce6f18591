/** How requests are retried when the service (or S3) asks to wait, or cannot be reached. */
export interface RetryPolicy {
  /**
   * Attempts in all, the first included.
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * First back-off when the answer has no `Retry-After` (doubled each attempt, with jitter).
   * @default 250
   */
  readonly baseDelayMs?: number;
  /**
   * The longest wait accepted: a `Retry-After` beyond it ends the retries (the 429/503 is returned).
   * @default 60000
   */
  readonly maxDelayMs?: number;
  /** Told before each wait. */
  readonly onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  readonly attempt: number;
  readonly delayMs: number;
  readonly url: string;
  /** The status that caused the retry, or undefined for a network error. */
  readonly status: number | undefined;
}

/** Statuses that mean "not done, try again later" and are retried. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Milliseconds a `Retry-After` header asks for: delta-seconds or an HTTP date; undefined when
 * absent or unreadable.
 *
 * @example
 * retryAfterMs('2') // 2000
 */
export const retryAfterMs = (header: string | null, now: number = Date.now()): number | undefined => {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
};

/** Waits `ms`, or rejects when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal | null): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A retry of a request that may have reached the server is safe only when it is idempotent. */
const isIdempotent = (request: Request): boolean =>
  request.method === 'GET' || request.method === 'HEAD' || request.headers.has('idempotency-key');

/**
 * Wraps `fetch` so that 429 and 503 answers are retried after their `Retry-After` (or an
 * exponential back-off with jitter when absent), and connection failures of idempotent requests
 * are retried too, at most `maxAttempts` times in all.
 *
 * @internal
 */
export const retryingFetch = (
  base: (input: Request) => Promise<Response>,
  policy: RetryPolicy = {},
): ((input: Request) => Promise<Response>) => {
  const maxAttempts = Math.max(1, policy.maxAttempts ?? 5);
  const baseDelayMs = policy.baseDelayMs ?? 250;
  const maxDelayMs = policy.maxDelayMs ?? 60_000;
  const backoff = (attempt: number) => Math.round(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await base(request.clone());
      } catch (error) {
        if (request.signal.aborted || attempt >= maxAttempts || !isIdempotent(request)) throw error;
        const delayMs = Math.min(backoff(attempt), maxDelayMs);
        policy.onRetry?.({ attempt, delayMs, url: request.url, status: undefined });
        await sleep(delayMs, request.signal);
        continue;
      }
      if (!RETRYABLE_STATUSES.has(response.status) || attempt >= maxAttempts) return response;
      const delayMs = retryAfterMs(response.headers.get('retry-after')) ?? backoff(attempt);
      if (delayMs > maxDelayMs) return response;
      await response.body?.cancel();
      policy.onRetry?.({ attempt, delayMs, url: request.url, status: response.status });
      await sleep(delayMs, request.signal);
    }
  };
};
