/**
 * The one integer grammar of every numeric request parameter, in every dialect: a canonical
 * decimal — `0`, or a non-zero digit followed by digits — with no sign, no leading zeros, no
 * spaces, no fraction or exponent, and at most 16 digits (every safe integer fits). One spelling
 * per number, as in JSON, so `limit=5` and `limit=0005` never mean different things to different
 * layers (caches, self-audit records, cursors bound to the parameters).
 */
export const CANONICAL_INTEGER = /^(?:0|[1-9]\d{0,15})$/;

/** `text` as an integer within `[min, max]`, or undefined when it is not one (see CANONICAL_INTEGER). */
export const parseCanonicalInteger = (text: string, min: number, max: number): number | undefined => {
  if (!CANONICAL_INTEGER.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
};
