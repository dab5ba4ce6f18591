import { describe, expect, it } from '@jest/globals';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { canonicalJson } from '../../../lambdas/domain/canonical-json.js';
import { utf8Length } from '../../../lambdas/domain/event-schema.js';
import { isWellFormed, jsonValueProblem } from '../../../lambdas/domain/json-values.js';

/** The package's answer, or the message it throws with. */
const outcome = (canonical: (value: unknown) => string | undefined, value: unknown) => {
  try {
    return { text: canonical(value) };
  } catch (error) {
    return { error: (error as Error).message };
  }
};

/** JSON values whose strings and names are any UTF-16 (unpaired surrogates included). */
const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
const anyUtf16 = fc.jsonValue({
  maxDepth: 3,
  stringUnit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
});

describe('canonicalJson', () => {
  it('writes exactly what the canonicalize package writes, for any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, anyUtf16), (value) => {
        expect(outcome(canonicalJson, value)).toEqual(outcome(canonicalize, value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes what the package writes for names and strings of quotes, escapes, controls, non-ASCII and unpaired surrogates (seeded property)', () => {
    // The characters either side of every line the fast path draws: printable ASCII, the two it
    // must escape, controls, DEL, Latin-1, line separators, BOM, an astral pair and both halves alone.
    const units = [
      ...'aZ09-.e+ !#[]~/"\\\0\b\t\n\r\x1f\x7f\x80\u00e9\u2028\u2029\ufeff\uffff\ud83d\ude00',
      '\ud800',
      '\udbff',
      '\udc00',
      '\udfff',
    ];
    const wellFormed = fc.string({ unit: fc.constantFrom(...units.filter(isWellFormed)), maxLength: 8 });
    // Mostly well-formed: a value with one unpaired surrogate anywhere is refused whole.
    const tricky = fc.oneof(
      { arbitrary: wellFormed, weight: 4 },
      { arbitrary: fc.string({ unit: fc.constantFrom(...units), maxLength: 8 }), weight: 1 },
    );
    // Names an entry has (they recur, so they come from the name cache), integer-like names (which
    // objects list first, before sorting), and any of the tricky strings.
    const name = fc.oneof(
      tricky,
      fc.nat({ max: 5_000_000_000 }).map(String),
      fc.constantFrom('', ...'-1 01 1.5 1e3 4294967295 tenant id timestamp hash user'.split(' ')),
    );
    const { json } = fc.letrec<{ json: unknown }>((tie) => ({
      json: fc.oneof(
        { depthSize: 'small' },
        tricky,
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('json'), { maxLength: 5 }),
        fc.dictionary(name, tie('json'), { maxKeys: 6 }),
        // Wide objects: names sorted by insertion up to 32 of them, by Array.prototype.sort past
        // (well-formed names, or nearly every one would be refused for an unpaired surrogate).
        fc.dictionary(fc.oneof(wellFormed, name.filter(isWellFormed)), fc.integer(), {
          minKeys: 20,
          maxKeys: 60,
          size: 'max',
        }),
      ),
    }));
    fc.assert(
      fc.property(json, (value) => {
        expect(outcome(canonicalJson, value)).toEqual(outcome(canonicalize, value));
        // Again, now that its names are cached: a name refused once is refused again.
        expect(outcome(canonicalJson, value)).toEqual(outcome(canonicalize, value));
      }),
      { numRuns: 3_000, seed: 17 },
    );
  });

  it('writes what the package writes before, across and after the name cache starts over', () => {
    const entry = (n: number) => ({
      tenant: 't',
      id: n,
      additional_information: {
        [`name-${n}`]: n,
        [`${'long '.repeat(20)}${n}`]: 'long name, never cached',
        [`q"${n}`]: `"\\${n}`,
        [String(n)]: [n, `\ud83d\ude00${n}`],
      },
    });
    // Many more distinct names than the cache keeps, then the first entries again.
    for (const n of [...Array.from({ length: 3_000 }, (_, n) => n), 0, 1, 2, 2_999]) {
      expect(canonicalJson(entry(n))).toBe(canonicalize(entry(n)));
    }
  });

  it('refuses what the package refuses, with its words, and hands it what is not plain JSON', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    // biome-ignore lint/suspicious/noSparseArray: a hole is what this case is about
    const sparse = [1, , 2];
    const cases: unknown[] = [
      { text: 'x\ud800y' },
      { '\udc00': 1 },
      [Number.NaN],
      { n: Number.POSITIVE_INFINITY },
      { at: new Date(Date.UTC(2026, 0, 1)) },
      { gone: undefined, kept: [undefined, 1], fn: () => 1 },
      sparse,
      cycle,
      -0,
      1e21,
      undefined,
      { b: 1, a: { d: [true, null, 'é'], c: '\u2028' }, '\u00e9': 2, '\ud83d\ude00': 3, Z: 4 },
      { 'a\ud800': 1 },
      { 'a\ud800': 1 },
      { ok: 'fine', bad: 'x\udfff' },
      { 'q"': '\\', '\x7f': '\x1f', '': '' },
    ];
    for (const value of cases) expect(outcome(canonicalJson, value)).toEqual(outcome(canonicalize, value));
  });
});

describe('utf8Length', () => {
  it('is the length of the UTF-8 an encoder writes, for any UTF-16 text (property)', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) }),
        ),
        (text) => {
          expect(utf8Length(text)).toBe(encoder.encode(text).length);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('jsonValueProblem', () => {
  it('names the path of the first problem in document order', () => {
    expect(jsonValueProblem({ a: [1, { 'b c': 'x\ud800' }], z: 'y\ud800' }, 10)).toEqual({
      path: '.a[1]["b c"]',
      message: 'must be well-formed Unicode (it holds an unpaired UTF-16 surrogate)',
    });
    expect(jsonValueProblem({ list: [0, Number.NaN] }, 10)?.path).toBe('.list[1]');
    expect(jsonValueProblem({ deep: { 'k\udc00': 1 } }, 10)).toEqual({
      path: '.deep["k\ufffd"]',
      message: 'key must be well-formed Unicode (it holds an unpaired UTF-16 surrogate)',
    });
    expect(jsonValueProblem([[[1]]], 2)).toEqual({ path: '', message: 'must be at most 2 levels deep' });
    expect(jsonValueProblem({ ok: ['fine', 1, null, true] }, 10)).toBeUndefined();
  });
});
