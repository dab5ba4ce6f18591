import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { createAuditTrailClient } from '../client.js';
import { AuditTrailApiError } from '../errors.js';
import { configFile, removeLogin, saveLogin } from './config.js';
import { targetOf, UsageError, VERSION } from './context.js';

const readToken = async (): Promise<string> => {
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    try {
      return (await rl.question('Token: ')).trim();
    } finally {
      rl.close();
    }
  }
  // Piped: `audit-trail login --endpoint URL < token-file`, keeping the token out of the process list.
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.trim();
};

/** `login` and `logout`. */
export const loginCommands = (): Command[] => {
  const login = new Command('login')
    .description(`save an endpoint and token to ${configFile()} (mode 600)`)
    .option('--no-verify', 'save without checking the token against the service')
    .addHelpText(
      'after',
      '\nThe token comes from --token, AUDIT_TRAIL_TOKEN, a prompt on a terminal, or standard input.',
    )
    .action(async (options: { verify: boolean }, command: Command) => {
      const target = targetOf(command);
      const flags = command.optsWithGlobals<{ token?: string }>();
      // Only a token given now: never one saved earlier or the local stack's.
      const token = flags.token ?? (process.env.AUDIT_TRAIL_TOKEN || undefined) ?? (await readToken());
      if (!token) throw new UsageError('No token given');
      if (options.verify) {
        const client = createAuditTrailClient({
          endpoint: target.endpoint,
          token,
          userAgent: `audit-trail-cli/${VERSION}`,
        });
        try {
          await client.canary.page({ limit: 1 });
        } catch (error) {
          // 403: a valid token without the read scope (an ingest-only producer, say) is still a login.
          if (!(error instanceof AuditTrailApiError && error.status === 403)) throw error;
          process.stderr.write('Note: this token has no read scope.\n');
        }
      }
      const file = saveLogin({ endpoint: target.endpoint, token });
      process.stdout.write(`Logged in to ${target.endpoint}; saved to ${file} (mode 600).\n`);
    });
  const logout = new Command('logout').description('forget the saved endpoint and token').action(() => {
    process.stdout.write(removeLogin() ? `Removed ${configFile()}.\n` : 'Not logged in.\n');
  });
  return [login, logout];
};
