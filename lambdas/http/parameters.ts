import { parseKoreDate } from '../domain/date-range.js';
import { parseCanonicalInteger } from '../domain/integers.js';
import * as z from '../domain/zod.js';

/**
 * A numeric query parameter: the one integer grammar of every dialect (a canonical decimal, see
 * CANONICAL_INTEGER) within `[min, max]`, else an issue with `message`.
 */
export const integerParameter = (min: number, max: number, message: string) =>
  z.pipe(
    z.string(),
    z.transform((text, context) => {
      const value = parseCanonicalInteger(text, min, max);
      if (value === undefined) context.issues.push({ code: 'custom', message, input: text });
      return value ?? min;
    }),
  );

/**
 * An optional date parameter: a whole UTC day (yyyy-mm-dd) or a UTC millisecond, as the span of
 * milliseconds it covers (an inclusive id range: a key condition). A bad value is a 400 saying
 * "`field` `message`", in the dialect's own wording.
 */
export const dateParameter = (field: string, message: string) =>
  z.optional(
    z.pipe(
      z.string(),
      z.transform((text, context) => {
        const span = parseKoreDate(text.trim());
        if (!span) context.issues.push({ code: 'custom', message: `${field} ${message}`, input: text });
        return span ?? { start: 0, end: 0 };
      }),
    ),
  );
