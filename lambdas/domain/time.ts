/** Calendar helpers over epoch milliseconds. Rollup buckets are UTC hours and days. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Hours since the Unix epoch: the hourly rollup bucket of `timestamp`. */
export const hourOf = (timestamp: number): number => Math.floor(timestamp / HOUR_MS);
/** Days since the Unix epoch: the daily rollup bucket of `timestamp`. */
export const dayOf = (timestamp: number): number => Math.floor(timestamp / DAY_MS);

const zoneCache = new Map<string, boolean>();

/** True when `name` is an IANA time zone this runtime knows (as pytz names are). */
export const isKnownTimeZone = (name: string): boolean => {
  const cached = zoneCache.get(name);
  if (cached !== undefined) return cached;
  let known = name.length > 0 && name.length <= 64;
  if (known) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
    } catch {
      known = false;
    }
  }
  if (zoneCache.size < 1000) zoneCache.set(name, known);
  return known;
};

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** "2020-04-17 11:58:10 UTC+0000": the canary dialect's timestamp format. */
export const formatCanaryUtc = (timestamp: number): string => {
  const d = new Date(timestamp);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} UTC+0000`;
};

const zonedFormatters = new Map<string, Intl.DateTimeFormat>();
const zonedFormatter = (timeZone: string, locale: string): Intl.DateTimeFormat => {
  const key = `${locale}|${timeZone}`;
  let formatter = zonedFormatters.get(key);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(locale, {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'shortOffset',
    });
    zonedFormatters.set(key, formatter);
  }
  return formatter;
};

const abbreviationFormatters = new Map<string, Intl.DateTimeFormat>();
const zoneAbbreviation = (timestamp: number, timeZone: string): string | undefined => {
  // Each English locale knows its region's abbreviations (EDT, CEST, IST, AEST); pytz knows them all.
  for (const locale of ['en-US', 'en-GB', 'en-IN', 'en-AU']) {
    const key = `${locale}|${timeZone}`;
    let formatter = abbreviationFormatters.get(key);
    if (!formatter) {
      formatter = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' });
      abbreviationFormatters.set(key, formatter);
    }
    const name = formatter.formatToParts(timestamp).find((part) => part.type === 'timeZoneName')?.value;
    if (name && /^[A-Z]{2,5}$/.test(name)) return name;
  }
  return undefined;
};

/**
 * `timestamp` in `timeZone`, in the canary format: "2020-04-17 13:58:10 CEST+0200". Zones without
 * a common abbreviation show the offset twice ("+04+0400"), as tzdata names them.
 */
export const formatCanaryZoned = (timestamp: number, timeZone: string): string => {
  const parts = Object.fromEntries(
    zonedFormatter(timeZone, 'en-US')
      .formatToParts(timestamp)
      .map((part) => [part.type, part.value]),
  );
  const match = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?/.exec(parts.timeZoneName ?? 'GMT');
  const sign = match?.[1] ?? '+';
  const offset = `${sign}${pad(Number(match?.[2] ?? 0))}${match?.[3] ?? '00'}`;
  const abbreviation =
    zoneAbbreviation(timestamp, timeZone) ?? (offset.endsWith('00') ? offset.slice(0, 3) : offset);
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${abbreviation}${offset}`;
};
