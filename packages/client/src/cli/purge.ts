import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { clientOf, interrupt, UsageError } from './context.js';
import { PurgeSpinner } from './progress.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;

const confirm = async (question: string): Promise<boolean> => {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
};

/** `purge <id>`: deletes every entry with id ≤ id, after confirmation, showing the job's progress. */
export const purgeCommand = (): Command =>
  new Command('purge')
    .description('delete every entry with id ≤ ID (archived first when the tenant keeps archives)')
    .argument('<id>', 'the newest entry id to delete (inclusive)')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .action(async (id: string, options: { yes?: boolean }, command: Command) => {
      if (!/^\d+$/.test(id) || Number(id) > MAX_ID)
        throw new UsageError(`<id> must be an integer from 0 to ${MAX_ID}`);
      const { client, target } = clientOf(command);
      if (!options.yes) {
        if (!process.stdin.isTTY || !process.stderr.isTTY) {
          throw new UsageError('Refusing to purge without confirmation: no terminal to ask on. Pass --yes.');
        }
        const ok = await confirm(
          `Delete every entry with id ≤ ${id} at ${target.endpoint}? This cannot be undone. [y/N] `,
        );
        if (!ok) {
          process.stderr.write('Nothing purged.\n');
          return;
        }
      }
      const spinner = new PurgeSpinner();
      try {
        const result = await client.purge(Number(id), {
          onProgress: (state) => spinner.update(state),
          signal: interrupt.signal,
        });
        spinner.stop();
        process.stdout.write(
          `Purged: ${result.deleted} entries deleted${result.jobId ? ` (job ${result.jobId}, ${result.status})` : ''}.\n`,
        );
      } finally {
        spinner.stop();
      }
    });
