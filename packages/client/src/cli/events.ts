import { Command } from 'commander';
import { sleep } from '../retry.js';
import type { CanaryEntry } from '../types.js';
import { clientOf, interrupt, positiveInteger, seconds } from './context.js';
import { chooseFormat, EntryPrinter, entryLine } from './output.js';

const MAX_PAGE = 1000;

interface EventsOptions {
  action?: string;
  limit: number;
  all?: boolean;
  tz?: string;
  json?: boolean;
  jsonl?: boolean;
  csv?: boolean;
  table?: boolean;
}

/** `events`: the newest entries (canary `fetch`), in a table, JSON, JSON Lines or CSV. */
export const eventsCommand = (): Command =>
  new Command('events')
    .description('list entries, newest first (a table on a terminal, JSON Lines when piped)')
    .option('-a, --action <action>', 'only entries of this action type (action_filter)')
    .option('-n, --limit <n>', 'how many entries', positiveInteger('--limit'), 20)
    .option('--all', 'every entry (pages of 1000)')
    .option('--tz <zone>', 'add timestamp_std in this IANA zone, e.g. Europe/London')
    .option('--json', 'one JSON array')
    .option('--jsonl', 'JSON Lines: one entry a line')
    .option('--csv', 'CSV with a header line')
    .option('--table', 'a table, even when piped')
    .action(async (options: EventsOptions, command: Command) => {
      const { client } = clientOf(command);
      const printer = new EntryPrinter(chooseFormat(options));
      const wanted = options.all ? Number.POSITIVE_INFINITY : options.limit;
      let printed = 0;
      for await (const entry of client.canary.entries(
        {
          limit: Math.min(MAX_PAGE, wanted),
          ...(options.action !== undefined ? { action: options.action } : {}),
          ...(options.tz !== undefined ? { tz: options.tz } : {}),
        },
        { signal: interrupt.signal },
      )) {
        printer.add(entry);
        if (++printed >= wanted) break;
      }
      printer.end();
    });

interface TailOptions {
  lines: number;
  follow?: boolean;
  action?: string;
  tz?: string;
  interval: number;
  for?: number;
  count?: number;
  showReads?: boolean;
  jsonl?: boolean;
}

/** The record of a call that read the trail (`tail -f`'s own polls among them). */
const isRead = (entry: CanaryEntry) =>
  entry.action_type === 'api_request' && /^GET \/api\/v1\/audit_trail\/fetch /.test(entry.message ?? '');

/** `tail [-f]`: the last entries, oldest first; with -f, new ones as they come (polling). */
export const tailCommand = (): Command =>
  new Command('tail')
    .description('the last entries, oldest first; with -f, follow new ones until Ctrl-C')
    .option('-n, --lines <n>', 'how many entries to show first', positiveInteger('--lines', MAX_PAGE), 10)
    .option('-f, --follow', 'keep polling for new entries')
    .option('-a, --action <action>', 'only entries of this action type')
    .option('--tz <zone>', 'add timestamp_std in this IANA zone')
    .option('-i, --interval <seconds>', 'seconds between polls', seconds('--interval'), 2)
    .option('--for <seconds>', 'stop following after this many seconds', seconds('--for'))
    .option('--count <n>', 'stop following after this many new entries', positiveInteger('--count'))
    .option('--show-reads', "also show the records of fetch calls (each poll's own among them)")
    .option('--jsonl', 'JSON Lines (the default when piped)')
    .action(async (options: TailOptions, command: Command) => {
      const { client } = clientOf(command);
      const jsonl = options.jsonl || !process.stdout.isTTY;
      const show = (entry: CanaryEntry) =>
        process.stdout.write(`${jsonl ? JSON.stringify(entry) : entryLine(entry)}\n`);
      const filters = {
        ...(options.action !== undefined ? { action: options.action } : {}),
        ...(options.tz !== undefined ? { tz: options.tz } : {}),
      };
      const visible = (entry: CanaryEntry) =>
        options.showReads || options.action !== undefined || !isRead(entry);
      const signal = interrupt.signal;
      // The last --lines entries worth showing (reads hidden), at most ten pages back.
      const last: CanaryEntry[] = [];
      let lastId = 0;
      let read = 0;
      for await (const entry of client.canary.entries({ ...filters, limit: MAX_PAGE }, { signal })) {
        lastId = Math.max(lastId, entry.id);
        if (visible(entry)) last.push(entry);
        if (last.length >= options.lines || ++read >= 10 * MAX_PAGE) break;
      }
      for (const entry of last.reverse()) show(entry);
      if (!options.follow) return;
      let shown = 0;
      const deadline = options.for === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.for * 1000;
      // Bounded: by --for, --count or Ctrl-C; each poll reads only what is newer than the last entry seen.
      while (Date.now() < deadline && (options.count === undefined || shown < options.count)) {
        // Ctrl-C rejects the wait; main() ends quietly with 130.
        await sleep(Math.min(options.interval * 1000, Math.max(0, deadline - Date.now())), signal);
        const fresh: CanaryEntry[] = [];
        for await (const entry of client.canary.entries({ ...filters, limit: 100 }, { signal })) {
          if (entry.id <= lastId || fresh.length >= 10 * MAX_PAGE) break;
          fresh.push(entry);
        }
        lastId = fresh[0]?.id ?? lastId;
        for (const entry of fresh.reverse()) {
          if (!visible(entry)) continue;
          show(entry);
          if (options.count !== undefined && ++shown >= options.count) break;
        }
      }
    });
