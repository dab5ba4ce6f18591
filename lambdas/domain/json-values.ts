/**
 * Rules for JSON values that every stored string and number must meet, shared by ingest validation
 * and the event store's last check before writing (kept free of zod, so the store's bundle does
 * not carry the schema).
 */
/** An unpaired UTF-16 surrogate: `\p{Cs}` in a `u` regex matches only unpaired ones. */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;
/** The engine's own check (ES2024, in every Node this service runs on), else the regex. */
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
/** True when `text` is well-formed Unicode (has a UTF-8 form and an RFC 8785 canonical form). */
export const isWellFormed: (text: string) => boolean = nativeIsWellFormed
  ? (text) => nativeIsWellFormed.call(text)
  : (text) => !LONE_SURROGATE.test(text);
export const WELL_FORMED_MESSAGE = 'must be well-formed Unicode (it holds an unpaired UTF-16 surrogate)';

/**
 * How a JSON path is shown: `.name` for plain short keys, `["…"]` (clipped, unpaired surrogates
 * replaced) for anything else, so a message never carries a huge or malformed key.
 */
const keyPart = (key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/.test(key)
    ? `.${key}`
    : `[${JSON.stringify(key.slice(0, 40).replace(LONE_SURROGATES, '\uFFFD'))}]`;

/** A value met on the walk, with where it is: its parent's frame and its key there. */
interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

/** The path of `frame` (`.a[2]["b c"]`), built only for the value a problem is reported on. */
const pathOf = (frame: Frame | undefined): string => {
  const parts: string[] = [];
  for (let current = frame; current?.parent !== undefined; current = current.parent) {
    const { key } = current;
    parts.push(typeof key === 'number' ? `[${key}]` : keyPart(key as string));
  }
  return parts.reverse().join('');
};

/**
 * The first problem in a free-form JSON value that would stop it being sealed (RFC 8785) or
 * stored: an unpaired surrogate in a string or key, a number that is not finite, too deep a
 * nesting. Iterative, so no input can exhaust the stack; the path of a value is only worked out
 * for the one reported.
 */
export const jsonValueProblem = (
  value: unknown,
  maxDepth: number,
): { path: string; message: string } | undefined => {
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    const { depth } = frame;
    const current = frame.value;
    if (typeof current === 'string') {
      if (!isWellFormed(current)) return { path: pathOf(frame), message: WELL_FORMED_MESSAGE };
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current))
        return {
          path: pathOf(frame),
          message: 'must be a finite number (within the range of a 64-bit double)',
        };
    } else if (current === null || current === undefined || typeof current === 'boolean') {
      // (undefined: an absent field, left out by JSON and RFC 8785 alike)
      // fine
    } else if (typeof current === 'object') {
      // Reported on the value as a whole: it is the whole that is too deep.
      if (depth >= maxDepth) return { path: '', message: `must be at most ${maxDepth} levels deep` };
      // Pushed in reverse, so the first problem in document order is the one reported.
      if (Array.isArray(current)) {
        for (let index = current.length - 1; index >= 0; index -= 1) {
          stack.push({ value: current[index], depth: depth + 1, parent: frame, key: index });
        }
      } else {
        const keys = Object.keys(current);
        for (const key of keys) {
          if (!isWellFormed(key))
            return { path: `${pathOf(frame)}${keyPart(key)}`, message: `key ${WELL_FORMED_MESSAGE}` };
        }
        for (let index = keys.length - 1; index >= 0; index -= 1) {
          const key = keys[index] as string;
          stack.push({
            value: (current as Record<string, unknown>)[key],
            depth: depth + 1,
            parent: frame,
            key,
          });
        }
      }
    } else {
      return { path: pathOf(frame), message: 'must be a JSON value' };
    }
  }
  return undefined;
};
