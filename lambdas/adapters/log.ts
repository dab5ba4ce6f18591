import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Structured JSON logs on stdout (CloudWatch), one object a line: `level`, `message`, `timestamp`,
 * and, inside a handler wrapped by `withRequestLog`, the request's `requestId` and the
 * `functionName`. Callers pass plain facts, never request headers, bodies or query strings:
 * credentials travel in those. `LOG_LEVEL`: `debug` adds debug lines, `silent` writes nothing.
 *
 * A dozen lines instead of Powertools Logger: the Logger adds 23 KB (minified) and ~10 ms to a
 * cold import, and the largest bundles are at the 500 KB budget (docs/architecture.md).
 */
type Fields = Record<string, unknown>;
type Level = 'debug' | 'info' | 'warn' | 'error';

/** What every line of one invocation carries. */
interface LogContext {
  readonly requestId?: string;
  readonly functionName?: string;
}

const invocation = new AsyncLocalStorage<LogContext>();

const write = (level: Level, message: string, fields: Fields = {}) => {
  if (level === 'debug' && process.env.LOG_LEVEL !== 'debug') return;
  if (process.env.LOG_LEVEL === 'silent') return;
  process.stdout.write(
    `${JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...invocation.getStore(), ...fields })}\n`,
  );
};

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};

/**
 * `handler`, with every log line it writes (awaited work included) carrying the invocation's
 * request id and function name. Concurrent invocations (the local stack) each keep their own.
 */
export const withRequestLog =
  <E, C extends { readonly awsRequestId?: string; readonly functionName?: string } | undefined, R>(
    handler: (event: E, context: C) => Promise<R>,
  ) =>
  (event: E, context?: C): Promise<R> =>
    // JSON.stringify leaves out the fields a test's bare context does not have.
    invocation.run({ requestId: context?.awsRequestId, functionName: context?.functionName }, () =>
      handler(event, context as C),
    );
