import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { type AuditRecord, type EventDraft, hashRecord, sealRecord } from '../../../lambdas/domain/record.js';

/** Sealing as it was first written: a copy of the fields, the package's text, a Hash object, a copy with the hash. */
const referenceSeal = (tenant: string, id: number, timestamp: number, draft: EventDraft): AuditRecord => {
  const content: Record<string, unknown> = { tenant, id, timestamp };
  for (const [key, value] of Object.entries(draft)) {
    if (key !== 'timestamp' && value !== undefined) content[key] = value;
  }
  const { hash: _ignored, ...hashed } = content;
  const hash = createHash('sha256')
    .update(canonicalize(hashed) as string)
    .digest('hex');
  return { ...content, hash } as unknown as AuditRecord;
};

const text = fc.string({ unit: 'binary', maxLength: 40 });
const optional = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: undefined });
/** Drafts as the schema lets them through, and with what it would not (a hash, undefined members). */
const draft: fc.Arbitrary<EventDraft> = fc
  .record(
    {
      timestamp: optional(fc.integer({ min: 0, max: 2 ** 41 })),
      action_type: text,
      category: optional(text),
      message: optional(text),
      user: optional(text),
      user_ip: optional(text),
      flock_id: optional(text),
      additional_information: optional(fc.jsonValue({ maxDepth: 3 })),
      request: optional(
        fc.record({
          uri: text,
          method: fc.constantFrom('GET', 'POST'),
          status: fc.integer({ min: 100, max: 599 }),
          query_parameters: fc.dictionary(text, text, { maxKeys: 3 }),
        }),
      ),
      api_key: optional(fc.record({ id: text, name: text })),
      hash: optional(text),
    },
    { requiredKeys: ['action_type'] },
  )
  .map((fields) => fields as EventDraft);

describe('sealRecord', () => {
  it('seals exactly as the copy-and-createHash form did: same members, order and hash (seeded property)', () => {
    fc.assert(
      fc.property(draft, fc.nat(), fc.integer({ min: 0, max: 2 ** 41 }), (fields, id, timestamp) => {
        const sealed = sealRecord('acme', id, timestamp, fields);
        const expected = referenceSeal('acme', id, timestamp, fields);
        expect(JSON.stringify(sealed)).toBe(JSON.stringify(expected));
        expect(sealed).toStrictEqual(expected);
        expect(hashRecord(sealed)).toBe(sealed.hash);
      }),
      { numRuns: 1_000, seed: 8785 },
    );
  });

  it('leaves out a __proto__ member of parsed JSON, as the copy did, and keeps a plain prototype', () => {
    const parsed = JSON.parse('{"action_type":"a","__proto__":{"polluted":true},"user":"u"}') as EventDraft;
    const sealed = sealRecord('acme', 1, 2, parsed);
    expect(JSON.stringify(sealed)).toBe(JSON.stringify(referenceSeal('acme', 1, 2, parsed)));
    expect(Object.getPrototypeOf(sealed)).toBe(Object.prototype);
    expect((sealed as unknown as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
