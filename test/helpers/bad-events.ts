import fc from 'fast-check';

/**
 * Events whose content cannot be stored as it is, for tests that send them inside otherwise good
 * batches. Each is raw JSON text (so that values JSON.stringify cannot write, such as `1e400`,
 * reach the service as a client would send them) with the field validation must name.
 */
export interface BadEvent {
  readonly kind: string;
  /** The event as JSON text. */
  readonly json: string;
  /** The field the 400 names, after `events[i].`. */
  readonly field: string;
}

/** An unpaired UTF-16 surrogate (high or low), the kind of string that has no UTF-8 form. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** A well-formed string with one unpaired surrogate somewhere in it (never completing a pair). */
const withLoneSurrogate = fc
  .tuple(fc.string({ maxLength: 20 }), loneSurrogate, fc.string({ maxLength: 20 }))
  .map(([before, surrogate, after]) => `${before}${surrogate}x${after}`);

const request = (parameters: string) =>
  `{"uri":"/api/things","method":"GET","status":200,"query_parameters":${parameters}}`;

const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

/** One event that validation must refuse, of every class the write path cannot take. */
export const badEvent: fc.Arbitrary<BadEvent> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        'message',
        'category',
        'user',
        'user_ip',
        'user_browser_agent',
        'user_browser_language',
        'flock_id',
      ),
      withLoneSurrogate,
    )
    .map(([field, text]) => ({
      kind: 'unpaired surrogate in a string field',
      json: `{"action_type":"door.opened",${JSON.stringify(field)}:${JSON.stringify(text)}}`,
      field,
    })),
  withLoneSurrogate.map((text) => ({
    kind: 'unpaired surrogate in an api_key',
    json: `{"action_type":"key.used","api_key":{"id":"k1","name":${JSON.stringify(text)}}}`,
    field: 'api_key.name',
  })),
  fc.tuple(fc.constantFrom('uri', 'error'), withLoneSurrogate).map(([field, text]) => ({
    kind: 'unpaired surrogate in a request string',
    json: `{"action_type":"proxy","request":{"uri":"/x","method":"GET","status":500,"query_parameters":{},${JSON.stringify(field)}:${JSON.stringify(text)}}}`,
    field: `request.${field}`,
  })),
  withLoneSurrogate.map((text) => ({
    kind: 'unpaired surrogate in a query parameter name',
    json: `{"action_type":"proxy","request":${request(`{${JSON.stringify(text)}:"v"}`)}}`,
    field: 'request.query_parameters',
  })),
  withLoneSurrogate.map((text) => ({
    kind: 'unpaired surrogate in a query parameter value',
    json: `{"action_type":"proxy","request":${request(`{"q":${JSON.stringify(text)}}`)}}`,
    field: 'request.query_parameters.q',
  })),
  withLoneSurrogate.map((text) => ({
    kind: 'unpaired surrogate deep in additional_information',
    json: `{"action_type":"flock.created","additional_information":{"list":[1,{"name":${JSON.stringify(text)}}]}}`,
    field: 'additional_information.list[1].name',
  })),
  withLoneSurrogate.map((text) => ({
    kind: 'unpaired surrogate in an additional_information key',
    json: `{"action_type":"flock.created","additional_information":{"ok":1,${JSON.stringify(text)}:true}}`,
    field: 'additional_information[',
  })),
  fc.constantFrom('1e400', '-1e400', '1.8e308').map((number) => ({
    kind: 'a number beyond a double',
    json: `{"action_type":"meter.read","additional_information":{"reading":${number}}}`,
    field: 'additional_information.reading',
  })),
  fc.integer({ min: 33, max: 200 }).map((depth) => ({
    kind: 'additional_information nested too deep',
    json: `{"action_type":"deep","additional_information":${nested(depth)}}`,
    field: 'additional_information',
  })),
  fc.integer({ min: 1025, max: 4000 }).map((length) => ({
    kind: 'a query parameter name over 1 KB',
    json: `{"action_type":"proxy","request":${request(`{${JSON.stringify('n'.repeat(length))}:"v"}`)}}`,
    field: 'request.query_parameters',
  })),
  fc.integer({ min: 30, max: 50 }).map((count) => ({
    // Each value is within 1 KB, but escapes to 6 KB of JSON.
    kind: 'query parameters over 16 KB of JSON',
    json: `{"action_type":"proxy","request":${request(
      `{${Array.from({ length: count }, (_, n) => `"p${n}":${JSON.stringify('\u0001'.repeat(1000))}`).join(',')}}`,
    )}}`,
    field: 'request.query_parameters',
  })),
);

/** A good event, as a producer would send it. */
export const goodEvent = fc
  .record(
    {
      action_type: fc.constantFrom('user_login', 'user_logout', 'flock.created', 'invoice.paid'),
      user: fc.string({ unit: 'grapheme', maxLength: 30 }),
      message: fc.string({ unit: 'grapheme', maxLength: 80 }),
      additional_information: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: ['action_type'] },
  )
  .map((event) => JSON.stringify(event));

/**
 * A batch of 1–100 events (at least `minGood` + 1), exactly one of them bad, as a JSON body; with
 * the bad event's index and the good events' JSON.
 */
export const batchWithOneBadEvent = (minGood = 0) =>
  fc
    .tuple(
      fc
        .integer({ min: minGood, max: 99 })
        .chain((count) => fc.array(goodEvent, { minLength: count, maxLength: count })),
      badEvent,
      fc.nat(),
    )
    .map(([good, bad, position]) => {
      const index = position % (good.length + 1);
      const events = [...good.slice(0, index), bad.json, ...good.slice(index)];
      return { body: `{"events":[${events.join(',')}]}`, index, bad, good };
    });
