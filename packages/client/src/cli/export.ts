import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { clientOf, interrupt, UsageError } from './context.js';
import { DownloadBar } from './progress.js';
import { formatBytes, formatDuration } from './terminal.js';

/** `export`: the zip of every entry, to a file, with a progress bar. */
export const exportCommand = (): Command =>
  new Command('export')
    .description('download every entry as canary_audit_trail.json.zip (following export jobs)')
    .option('-o, --output <file>', 'where to write the zip', 'canary_audit_trail.json.zip')
    .option('--force', 'replace the file if it exists')
    .option('--poll <seconds>', 'how often to ask about an export job when the service does not say', '2')
    .action(async (options: { output: string; force?: boolean; poll: string }, command: Command) => {
      const { client } = clientOf(command);
      const path = resolve(options.output);
      if (existsSync(path) && !options.force)
        throw new UsageError(`${options.output} exists: pass --force to replace it`);
      const poll = Number(options.poll);
      if (!Number.isFinite(poll) || poll <= 0)
        throw new UsageError('--poll must be a positive number of seconds');
      const bar = new DownloadBar();
      const started = Date.now();
      try {
        const result = await client.download({
          to: path,
          onProgress: (progress) => bar.update(progress),
          pollIntervalMs: poll * 1000,
          signal: interrupt.signal,
        });
        bar.stop();
        const took = (Date.now() - started) / 1000;
        process.stderr.write(
          `Saved ${options.output}: ${formatBytes(result.bytes)} in ${formatDuration(took)}` +
            `${result.jobId ? ` (export job ${result.jobId})` : ''}.\n`,
        );
      } finally {
        bar.stop();
      }
    });
