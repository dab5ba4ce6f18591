/** Time-zone arithmetic for the date filters (the browser has no "midnight in zone X" API). */

/** The browser's own zone, the default of the time-zone filter. */
export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Every zone name the browser knows, for the time-zone picker. */
export const knownTimeZones = (): string[] => {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC'];
};

/** How far `zone`'s wall clock is ahead of UTC at instant `time` (ms). */
const offsetAt = (time: number, zone: string): number => {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(time));
  const part = (type: string) => Number(parts.find((candidate) => candidate.type === type)?.value ?? 0);
  const wall = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  );
  return wall - Math.floor(time / 1000) * 1000;
};

/**
 * The instant (epoch ms) at which calendar day `date` (`yyyy-mm-dd`) starts in `zone`; `dayAfter`
 * gives the start of the next day (the end of a range, exclusive). Undefined for a malformed date.
 */
export const startOfDay = (date: string, zone: string, dayAfter = false): number | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return undefined;
  const wall = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + (dayAfter ? 1 : 0));
  // Two passes settle on the offset in force at that instant (it may differ across a DST change).
  let time = wall - offsetAt(wall, zone);
  time = wall - offsetAt(time, zone);
  return time;
};
