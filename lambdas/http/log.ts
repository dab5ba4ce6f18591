/**
 * Structured JSON logs on stdout (CloudWatch). Callers pass plain facts, never request headers,
 * bodies or query strings: credentials travel in those.
 */
type Fields = Record<string, unknown>;

const write = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Fields = {}) => {
  if (level === 'debug' && process.env.LOG_LEVEL !== 'debug') return;
  if (process.env.LOG_LEVEL === 'silent') return;
  process.stdout.write(`${JSON.stringify({ level, message, time: new Date().toISOString(), ...fields })}\n`);
};

export const log = {
  debug: (message: string, fields?: Fields) => write('debug', message, fields),
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};
