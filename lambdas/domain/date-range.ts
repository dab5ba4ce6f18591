import { DAY_MS } from './time.js';

/** An inclusive span of epoch milliseconds. */
export interface TimeSpan {
  readonly start: number;
  readonly end: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/;

/** Epoch ms of a calendar date (UTC midnight), or undefined when the date does not exist. */
const utcDay = (year: number, month: number, day: number): number | undefined => {
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  if (
    year < 1970 ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  )
    return undefined;
  return time;
};

/** A strict `YYYY-MM-DD` (UTC) as the whole day it names, or undefined when malformed or no such day. */
export const parseIsoDay = (text: string): TimeSpan | undefined => {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const start = utcDay(Number(match[1]), Number(match[2]), Number(match[3]));
  return start === undefined ? undefined : { start, end: start + DAY_MS - 1 };
};

/**
 * A kore date (seed 002): `yyyy-mm-dd` (the whole UTC day) or `yyyy-mm-ddThh:mm:ss.sssZ` (that
 * millisecond; the fraction may have 1–3 digits or be left out). Undefined when malformed.
 */
export const parseKoreDate = (text: string): TimeSpan | undefined => {
  const day = parseIsoDay(text);
  if (day) return day;
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const start = utcDay(Number(match[1]), Number(match[2]), Number(match[3]));
  const [hours, minutes, seconds] = [Number(match[4]), Number(match[5]), Number(match[6])];
  if (start === undefined || hours > 23 || minutes > 59 || seconds > 59) return undefined;
  const millis = Number((match[7] ?? '0').padEnd(3, '0'));
  const time = start + ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
  return { start: time, end: time };
};

/**
 * The span between two kore dates, in either order: `from` counts from its start, `to` up to its
 * end (a bare date `to` covers its whole day). When `from` is later than `to`, the two swap roles,
 * as the seed's own sample request (fromDate after toDate) expects.
 */
export const koreSpan = (from: TimeSpan | undefined, to: TimeSpan | undefined): TimeSpan => {
  const start = from?.start ?? 0;
  const end = to?.end ?? Number.MAX_SAFE_INTEGER;
  if (from && to && from.start > to.end) return { start: to.start, end: from.end };
  return { start, end };
};
