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

/** The entries as a table that fits the terminal's width. */
export const renderTable = (entries: readonly CanaryEntry[]): string => {
  const c = colorsFor(process.stdout);
  if (entries.length === 0) return c.dim('No entries.');
  const withStd = entries.some((entry) => entry.timestamp_std !== undefined);
  const width = process.stdout.columns ?? 120;
  const fixed = [18, withStd ? 30 : 26, 24, 20];
  // Borders and padding take 3 characters a column.
  const messageWidth = Math.max(20, width - fixed.reduce((sum, w) => sum + w, 0) - 3 * 5 - 1);
  const table = new Table({
    head: ['id', 'time', 'action', 'user', 'message'].map((name) => c.bold(name)),
    style: { head: [], border: [] },
    wordWrap: false,
  });
  for (const entry of entries) {
    table.push([
      String(entry.id),
      entry.timestamp_std ?? entry.timestamp,
      c.cyan(oneLine(entry.action_type, fixed[2] ?? 24)),
      oneLine(entry.user, fixed[3] ?? 20),
      oneLine(entry.message, messageWidth),
    ]);
  }
  return table.toString();
};

/** One entry on one line, for `tail`. */
export const entryLine = (entry: CanaryEntry): string => {
  const c = colorsFor(process.stdout);
  return [
    c.dim(String(entry.id)),
    entry.timestamp_std ?? entry.timestamp,
    c.cyan(entry.action_type),
    entry.user ?? '-',
    oneLine(entry.message, 200),
  ].join('  ');
};
