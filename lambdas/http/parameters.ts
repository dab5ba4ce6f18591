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
