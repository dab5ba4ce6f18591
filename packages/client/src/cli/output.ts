import Table from 'cli-table3';
import type { CanaryEntry } from '../types.js';
import { colorsFor } from './terminal.js';

/** How entries are printed. */
export type Format = 'table' | 'json' | 'jsonl' | 'csv';

/** The format asked for, else a table on a terminal and JSON Lines when piped. */
export const chooseFormat = (flags: {
  json?: boolean;
  jsonl?: boolean;
  csv?: boolean;
  table?: boolean;
}): Format => {
  if (flags.json) return 'json';
  if (flags.jsonl) return 'jsonl';
  if (flags.csv) return 'csv';
  if (flags.table) return 'table';
  return process.stdout.isTTY ? 'table' : 'jsonl';
};

const CSV_COLUMNS = [
  'id',
  'timestamp',
  'timestamp_std',
  'action_type',
  'user',
  'user_ip',
  'user_browser_agent',
  'user_browser_language',
  'flock_id',
  'message',
  'additional_information',
] as const;

const csvCell = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

const oneLine = (text: string | null | undefined, width: number): string => {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}…` : flat;
};

/**
 * Writes entries as they come, in one format: JSON Lines and CSV stream; JSON and the table are
 * written once all entries are in (a table needs its column widths).
 */
export class EntryPrinter {
  private readonly format: Format;
  private readonly write: (text: string) => void;
  private readonly rows: CanaryEntry[] = [];
  private count = 0;

  constructor(format: Format, write: (text: string) => void = (text) => process.stdout.write(text)) {
    this.format = format;
    this.write = write;
    if (format === 'csv') this.write(`${CSV_COLUMNS.join(',')}\n`);
    if (format === 'json') this.write('[');
  }

  /** Prints (or keeps) one entry. */
  add(entry: CanaryEntry): void {
    switch (this.format) {
      case 'jsonl':
        this.write(`${JSON.stringify(entry)}\n`);
        break;
      case 'json':
        this.write(`${this.count === 0 ? '\n' : ',\n'}${JSON.stringify(entry)}`);
        break;
      case 'csv':
        this.write(`${CSV_COLUMNS.map((column) => csvCell(entry[column])).join(',')}\n`);
        break;
      case 'table':
        this.rows.push(entry);
        break;
    }
    this.count++;
  }

  /** Finishes the output (closes the JSON array, draws the table). */
  end(): void {
    if (this.format === 'json') this.write(this.count === 0 ? ']\n' : '\n]\n');
    if (this.format === 'table') this.write(`${renderTable(this.rows)}\n`);
  }
}

const MIN_MESSAGE = 12;

/** The entries as a table that fits the terminal's width. */
export const renderTable = (entries: readonly CanaryEntry[]): string => {
  const c = colorsFor(process.stdout);
  if (entries.length === 0) return c.dim('No entries.');
  const columns = process.stdout.columns ?? 120;
  // On a narrow terminal the zone suffix goes (the header says which zone).
  const narrow = columns < 110;
  const zone = (entries[0]?.timestamp_std ?? entries[0]?.timestamp ?? '').split(' ')[2] ?? '';
  const cells = entries.map((entry) => [
    String(entry.id),
    narrow
      ? (entry.timestamp_std ?? entry.timestamp).split(' ').slice(0, 2).join(' ')
      : (entry.timestamp_std ?? entry.timestamp),
    oneLine(entry.action_type, 24),
    oneLine(entry.user, 20),
    oneLine(entry.message, 1000),
  ]);
  const head = ['id', narrow ? `time (${zone})` : 'time', 'action', 'user', 'message'];
  const widths = head.map((name, column) =>
    Math.max(name.length, ...cells.map((row) => (row[column] ?? '').length)),
  );
  // Each column takes 3 more characters (padding and border); the message gets what is left,
  // at least 20, taken from the user and action columns on a narrow terminal (cli-table3 cuts them with …).
  let deficit =
    MIN_MESSAGE - (columns - (widths.slice(0, 4).reduce((sum, width) => sum + width + 3, 0) + 1) - 3);
  for (const [column, least] of [
    [3, 6],
    [2, 10],
  ] as const) {
    const take = Math.max(0, Math.min(deficit, (widths[column] ?? 0) - least));
    widths[column] = (widths[column] ?? 0) - take;
    deficit -= take;
  }
  const fixed = widths.slice(0, 4).reduce((sum, width) => sum + width + 3, 0) + 1;
  const messageWidth = Math.max(MIN_MESSAGE, Math.min(widths[4] ?? MIN_MESSAGE, columns - fixed - 3));
  const table = new Table({
    head: head.map((name) => c.bold(name)),
    colWidths: [...widths.slice(0, 4), messageWidth].map((width) => width + 2),
    style: { head: [], border: [] },
    // No line between rows: a page of entries stays readable on one screen.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of cells) {
    table.push([row[0], row[1], c.cyan(row[2] ?? ''), row[3], oneLine(row[4], messageWidth)]);
  }
  return table.toString();
};

/** One entry on one line, for `tail`. */
export const entryLine = (entry: CanaryEntry): string => {
  const c = colorsFor(process.stdout);
  const time = entry.timestamp_std ?? entry.timestamp;
  const user = entry.user ?? '-';
  const used = String(entry.id).length + time.length + entry.action_type.length + user.length + 8;
  const room = Math.max(20, (process.stdout.columns ?? 200) - used);
  return [c.dim(String(entry.id)), time, c.cyan(entry.action_type), user, oneLine(entry.message, room)].join(
    '  ',
  );
};
