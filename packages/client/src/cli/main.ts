/**
 * `audit-trail`: the command line of the Audit Trail Service, built on `@audit-trail/client`.
 * See the package README for every command.
 */
import { Command, CommanderError } from 'commander';
import { AuditTrailApiError, AuditTrailError, AuditTrailNetworkError } from '../errors.js';
import { interrupt, UsageError, VERSION } from './context.js';
import { eventsCommand, tailCommand } from './events.js';
import { exportCommand } from './export.js';
import { loginCommands } from './login.js';
import { operatorCommands } from './operator.js';
import { purgeCommand } from './purge.js';
import { colorsFor } from './terminal.js';

const STATUS_NAMES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Too large',
  429: 'Too many requests',
  503: 'Unavailable',
};

/** The program, every command registered. */
export const program = (): Command => {
  const root = new Command('audit-trail')
    .description('Read, follow, export and purge an Audit Trail Service tenant.')
    .version(VERSION)
    .option(
      '--endpoint <url>',
      'the service URL (else AUDIT_TRAIL_ENDPOINT, the saved login, or the local stack)',
    )
    .option(
      '--token <token>',
      'the API token (else AUDIT_TRAIL_TOKEN, the saved login, or the local demo token)',
    )
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(colorsFor(process.stderr).red(text)) });
  for (const command of [
    ...loginCommands(),
    eventsCommand(),
    tailCommand(),
    exportCommand(),
    purgeCommand(),
    ...operatorCommands(),
  ]) {
    root.addCommand(command);
  }
  return root;
};

/** What a failure prints: one line, never a stack (AUDIT_TRAIL_DEBUG=1 adds it). */
const describe = (error: unknown): { message: string; code: number } => {
  if (error instanceof UsageError) return { message: error.message, code: 2 };
  if (error instanceof AuditTrailApiError) {
    const name = STATUS_NAMES[error.status] ?? `HTTP ${error.status}`;
    const wait = error.retryAfterSeconds === undefined ? '' : ` (retry after ${error.retryAfterSeconds} s)`;
    return { message: `${error.status} ${name}: ${error.message}${wait}`, code: 1 };
  }
  if (error instanceof AuditTrailNetworkError) {
    return {
      message: `${error.message}. Is the service running (npm start), and the endpoint right?`,
      code: 1,
    };
  }
  if (error instanceof AuditTrailError || error instanceof Error) return { message: error.message, code: 1 };
  return { message: String(error), code: 1 };
};

/** Runs the command line; resolves to the exit code. */
export const main = async (argv: readonly string[] = process.argv): Promise<number> => {
  const onSigint = () => interrupt.abort(new Error('Interrupted'));
  process.once('SIGINT', onSigint);
  const root = program().exitOverride();
  for (const command of root.commands) command.exitOverride();
  try {
    await root.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // Ctrl-C: stop quietly, as `tail -f` users expect.
    if (interrupt.signal.aborted) return 130;
    const { message, code } = describe(error);
    process.stderr.write(`${colorsFor(process.stderr).red('audit-trail:')} ${message}\n`);
    if (process.env.AUDIT_TRAIL_DEBUG && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    return code;
  } finally {
    process.off('SIGINT', onSigint);
  }
};

process.exitCode = await main();
