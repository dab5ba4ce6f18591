import canonicalize from 'canonicalize';
import { isWellFormed } from './json-values.js';

/** Nesting past which the library (which detects cycles) takes over. */
const MAX_FAST_DEPTH = 256;

/**
 * Printable ASCII but `"` and `\`: a string of only these JSON.stringify writes as itself between
 * quotes (nothing to escape, no surrogates to check), so it is written without either call.
 */
const PLAIN = /^[ !#-[\]-~]*$/;

/** The JSON string of a well-formed `text`; an unpaired surrogate is refused in the package's words. */
const quoted = (text: string): string => {
  if (PLAIN.test(text)) return `"${text}"`;
  if (!isWellFormed(text)) throw new Error('Lone surrogate is not allowed');
  return JSON.stringify(text);
};

/**
 * Member names already written, each as `"name":`: an entry's names (tenant, id, action_type, …) recur
 * in every entry, and the write path and the stream consumer canonicalize every entry. Names inside
 * additional_information are the caller's, so the cache is bounded: a name longer than
 * {@link MAX_CACHED_NAME} is never kept, and the cache starts over once it holds
 * {@link MAX_CACHED_NAMES}: at most 64 K characters of names, whatever callers send, and the
 * recurring names are back after one entry.
 */
const memberPrefixes = new Map<string, string>();
const MAX_CACHED_NAMES = 1024;
const MAX_CACHED_NAME = 64;

const memberPrefix = (name: string): string => {
  let prefix = memberPrefixes.get(name);
  if (prefix === undefined) {
    prefix = `${quoted(name)}:`;
    if (name.length <= MAX_CACHED_NAME) {
      if (memberPrefixes.size >= MAX_CACHED_NAMES) memberPrefixes.clear();
      memberPrefixes.set(name, prefix);
    }
  }
  return prefix;
};

/** Up to this many members, names are sorted in place by insertion (below). */
const INSERTION_SORT_MAX = 32;

/**
 * An object's own enumerable names in UTF-16 code unit order, as `Array.prototype.sort` orders
 * them (it compares strings as `<` does; names are distinct, so stability cannot show). For an
 * entry's dozen names an insertion sort costs a third of the library sort, which calls its
 * comparison for every step; past a few dozen its quadratic steps would lose, so the library sorts.
 */
const sortedNames = (record: object): string[] => {
  const names = Object.keys(record);
  if (names.length > INSERTION_SORT_MAX) return names.sort();
  for (let next = 1; next < names.length; next += 1) {
    const name = names[next] as string;
    let at = next;
    for (; at > 0 && (names[at - 1] as string) > name; at -= 1) names[at] = names[at - 1] as string;
    names[at] = name;
  }
  return names;
};

/**
 * RFC 8785 (JCS) canonical JSON of `value`, exactly as the `canonicalize` package writes it (the
 * offline verifier and every stored hash rely on that text), for what the write path seals:
 * plain JSON values. Strings, numbers and booleans are written as JSON.stringify writes them (what
 * RFC 8785 prescribes for them), members sorted by their names' UTF-16 code units, members whose
 * value is undefined left out, undefined array elements written as null; an unpaired surrogate
 * or a number that is not finite is refused as the package refuses it. Anything else (a toJSON
 * method, a function, a bigint, nesting past 256 levels, where a cycle may hide) is handed to the
 * package. It does in one pass, without the package's per-value bookkeeping, what the package
 * does: sealing a request's events spent most of its time there (bench/ingest.ts).
 */
export const canonicalJson = (value: unknown): string | undefined => {
  try {
    return write(value, 0);
  } catch (error) {
    if (error instanceof HandOver) return canonicalize(value);
    throw error;
  }
};

/** Thrown to hand a value the fast path does not cover over to the package, whole. */
class HandOver extends Error {}

const write = (value: unknown, depth: number): string => {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      if (Number.isNaN(value)) throw new Error('NaN is not allowed');
      if (!Number.isFinite(value)) throw new Error('Infinity is not allowed');
      // JSON.stringify writes a finite number as String does (ECMA-262 SerializeJSONProperty).
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_FAST_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        throw new HandOver();
      }
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index += 1) {
          if (index > 0) text += ',';
          const element: unknown = value[index];
          // A hole (never in parsed JSON) the package writes as nothing at all: its answer.
          if (element === undefined && !(index in value)) throw new HandOver();
          text += element === undefined ? 'null' : write(element, depth + 1);
        }
        return `${text}]`;
      }
      const record = value as Record<string, unknown>;
      const names = sortedNames(record);
      let text = '{';
      let first = true;
      for (const name of names) {
        const member = record[name];
        if (member === undefined) continue;
        const prefix = memberPrefix(name);
        text += first ? prefix : `,${prefix}`;
        text += write(member, depth + 1);
        first = false;
      }
      return `${text}}`;
    }
    default:
      // undefined at the top, a symbol, a function, a bigint: the package's own answer.
      throw new HandOver();
  }
};
