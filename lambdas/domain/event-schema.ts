import { hash as oneShotHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { BadRequestError } from './errors.js';
import { isEncodableTimestamp, MAX_ID_TIMESTAMP_MS } from './ids.js';
import { API_REQUEST_ACTION, type EventDraft, SERVICE_CATEGORY } from './record.js';
import { isReservedActionType, isReservedApiKeyId, isReservedCategory } from './reserved.js';

export { isWellFormed, jsonValueProblem };

import { isWellFormed, jsonValueProblem, WELL_FORMED_MESSAGE } from './json-values.js';
import * as z from './zod.js';

/**
 * The schema of events producers send (HTTP ingest and the EventBridge path). Limits keep one
 * entry well under DynamoDB's 400 KB item size and stop a producer from bloating pages:
 *
 * - `action_type`: 1–128 characters of `A-Z a-z 0-9 _ . : -` (it becomes an index key and a filter);
 *   `api_request` and `audit_trail…` are reserved for this service's own records (see reserved.ts).
 * - `category` "Audit trail", and `api_key.id` or `user` values shaped like this service's token or
 *   kore app ids, are reserved too, in any case or spelling (the seed's own records excepted).
 * - `message`: at most 8 KB (UTF-8).
 * - every other string: at most 1 KB (UTF-8).
 * - `additional_information`: any JSON value, at most 16 KB once serialised, at most 32 levels
 *   deep, every number finite (a literal like `1e400` overflows to Infinity).
 * - `request.query_parameters`: at most 50 parameters, names at most 1 KB, at most 16 KB as JSON.
 * - `timestamp` (epoch ms, integer, 2000-01-01 … 2278): only when the caller may import history.
 * - every string, object key included, at any depth, is well-formed Unicode: an unpaired UTF-16
 *   surrogate (`"\ud800"` in JSON) has no UTF-8 form and no RFC 8785 canonical form, so the
 *   entry could be neither hashed nor stored.
 * - unknown keys are rejected, at every level.
 *
 * Together these are every way the content of an event can make its write fail (sealing, the
 * DynamoDB marshaller, item and key sizes), so a batch either passes validation whole or is
 * refused whole before anything is written. The event store checks each item once more before it
 * writes any (`UnstorableEventError`).
 */
export const INGEST_LIMITS = {
  maxEvents: 100,
  maxBodyBytes: 1024 * 1024,
  actionTypeChars: 128,
  messageBytes: 8 * 1024,
  stringBytes: 1024,
  additionalInformationBytes: 16 * 1024,
  /** Nesting levels of `additional_information` (DynamoDB's own limit for nested documents). */
  additionalInformationDepth: 32,
  queryParameters: 50,
  queryParameterNameBytes: 1024,
  queryParametersBytes: 16 * 1024,
} as const;

const ACTION_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The UTF-8 length of `text`, counted without encoding it (an unpaired surrogate counts as the 3
 * bytes of the U+FFFD an encoder writes for it).
 */
export const utf8Length = (text: string): number => {
  let bytes = text.length;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
      continue;
    }
    bytes += 2;
    // A surrogate pair is 4 bytes: 3 counted for the high half, 1 for the low one.
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index += 1;
    }
  }
  return bytes;
};

/** Whether `text` is at most `maxBytes` of UTF-8: a UTF-16 unit is 1–3 bytes, so short texts pass uncounted. */
const fitsBytes = (text: string, maxBytes: number): boolean =>
  text.length * 3 <= maxBytes || (text.length <= maxBytes && utf8Length(text) <= maxBytes);

const wellFormed = z.refine<string>(isWellFormed, WELL_FORMED_MESSAGE);

const boundedString = (maxBytes: number) =>
  z.string({ error: 'must be a string' }).check(
    wellFormed,
    z.refine((text) => fitsBytes(text, maxBytes), `must be at most ${maxBytes} bytes`),
  );

const text = boundedString(INGEST_LIMITS.stringBytes);

const jsonText = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
};

const actionTypeOf = (serviceActions: boolean) =>
  z.string({ error: 'is required and must be a string' }).check(
    z.regex(
      ACTION_TYPE_PATTERN,
      `must be 1-${INGEST_LIMITS.actionTypeChars} characters of letters, digits, "_", ".", ":" or "-"`,
    ),
    z.refine(
      (action) => serviceActions || !isReservedActionType(action),
      `"${API_REQUEST_ACTION}" and "audit_trail…" (in any case or spelling) are reserved for this service's own records`,
    ),
  );

/** An event's schema; `serviceActions` admits the action types only the service itself writes. */
const eventSchemaOf = (serviceActions: boolean) =>
  z.strictObject({
    action_type: actionTypeOf(serviceActions),
    timestamp: z.optional(
      z
        .number({ error: 'must be a number (epoch milliseconds)' })
        .check(
          z.refine(
            isEncodableTimestamp,
            `must be an integer number of epoch milliseconds between 2000-01-01 and ${new Date(MAX_ID_TIMESTAMP_MS).toISOString().slice(0, 10)}`,
          ),
        ),
    ),
    category: z.optional(
      text.check(
        z.refine(
          (category) => serviceActions || !isReservedCategory(category),
          `"${SERVICE_CATEGORY}" (in any case or spelling) is reserved for this service's own records`,
        ),
      ),
    ),
    message: z.optional(boundedString(INGEST_LIMITS.messageBytes)),
    // The actor index finds this service's API keys' calls by their id: a user of that shape would mix in.
    user: z.optional(
      text.check(
        z.refine(
          (user) => serviceActions || !isReservedApiKeyId(user),
          'must not look like this service\'s own token ids ("tok_…") or kore app ids ("cs-…")',
        ),
      ),
    ),
    user_ip: z.optional(text),
    user_browser_agent: z.optional(text),
    user_browser_language: z.optional(text),
    flock_id: z.optional(text),
    additional_information: z.optional(
      z.unknown().check(
        z.refine((value) => value !== undefined, 'must be a JSON value'),
        z.refine((value) => {
          const serialised = jsonText(value);
          return serialised !== undefined && fitsBytes(serialised, INGEST_LIMITS.additionalInformationBytes);
        }, `must be at most ${INGEST_LIMITS.additionalInformationBytes} bytes of JSON`),
      ),
    ),
    request: z.optional(
      z.strictObject({
        uri: text,
        method: z
          .string({ error: 'must be a string' })
          .check(z.regex(/^[A-Z]{1,16}$/, 'must be an HTTP method in capitals')),
        status: z
          .number({ error: 'must be a number' })
          .check(
            z.refine(Number.isInteger, 'must be an integer'),
            z.minimum(100, 'must be an HTTP status'),
            z.maximum(599, 'must be an HTTP status'),
          ),
        query_parameters: z
          .record(
            z.string().check(
              z.refine(isWellFormed, `names ${WELL_FORMED_MESSAGE}`),
              z.refine(
                (name) => fitsBytes(name, INGEST_LIMITS.queryParameterNameBytes),
                `names must be at most ${INGEST_LIMITS.queryParameterNameBytes} bytes`,
              ),
            ),
            text,
          )
          .check(
            z.refine(
              (parameters) => Object.keys(parameters).length <= INGEST_LIMITS.queryParameters,
              `must have at most ${INGEST_LIMITS.queryParameters} parameters`,
            ),
            z.refine(
              (parameters) => fitsBytes(JSON.stringify(parameters), INGEST_LIMITS.queryParametersBytes),
              `must be at most ${INGEST_LIMITS.queryParametersBytes} bytes of JSON`,
            ),
          ),
        error: z.optional(text),
      }),
    ),
    api_key: z.optional(
      z.strictObject({
        id: text.check(
          z.refine(
            (id) => serviceActions || !isReservedApiKeyId(id),
            'must not look like this service\'s own token ids ("tok_…") or kore app ids ("cs-…")',
          ),
        ),
        name: text,
      }),
    ),
  });

const eventSchema = eventSchemaOf(false);
/** What the service may write itself (the seed's api_request records): the same rules otherwise. */
const serviceEventsSchema = z.array(eventSchemaOf(true), { error: 'must be an array of events' });

const bodySchema = z.strictObject({
  events: z
    .array(eventSchema, { error: 'must be an array of events' })
    .check(
      z.minLength(1, 'must hold at least 1 event'),
      z.maxLength(INGEST_LIMITS.maxEvents, `must hold at most ${INGEST_LIMITS.maxEvents} events`),
    ),
});

/** `events[3].request.status`: a zod issue path the way a JSON client names the field. */
export const fieldName = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((name, key) => {
    if (typeof key === 'number') return `${name}[${key}]`;
    const part = String(key);
    return name.length === 0 ? part : `${name}.${part}`;
  }, '');

/** Options for reading producers' events. */
export interface ParseEventsOptions {
  /** Whether events may carry their own `timestamp` (history imports by admins, trusted producers). */
  readonly allowTimestamps: boolean;
  /** The field the events array is under, for messages (`events` in an HTTP body). */
  readonly prefix?: string;
}

const problemsOf = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) =>
  issues.flatMap((issue) => {
    // Unknown keys are reported one field each, so the caller sees which key to remove.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: fieldName([...prefix, ...issue.path, key]),
        message: 'is not a known field',
      }));
    }
    // A bad record key (a query parameter name): the field is the record; the key itself may be
    // huge or malformed, so it is not echoed.
    if (issue.code === 'invalid_key') {
      const path = issue.path.slice(0, -1);
      return [
        {
          field: fieldName([...prefix, ...path]) || 'body',
          message: issue.issues[0]?.message ?? issue.message,
        },
      ];
    }
    return [{ field: fieldName([...prefix, ...issue.path]) || 'body', message: issue.message }];
  });

const throwProblems = (problems: { field: string; message: string }[]): never => {
  const first = problems[0] ?? { field: 'body', message: 'is invalid' };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
  throw new BadRequestError(`${first.field} ${first.message}${more}`, { field: first.field, problems });
};

/**
 * Validates a parsed ingest body `{events:[…]}` and returns the drafts in order. Throws one
 * BadRequestError naming every field at fault (`events[3].action_type`); nothing is partially
 * accepted.
 */
export const parseIngestBody = (body: unknown, options: ParseEventsOptions): EventDraft[] => {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) return throwProblems(problemsOf(parsed.error.issues, []));
  return checkContent(checkTimestamps(parsed.data.events as EventDraft[], options, ['events']), ['events']);
};

/**
 * Validates drafts the service writes on its own behalf, any number of them (the seed): the same
 * rules as producers' events, `api_request` allowed. Throws one BadRequestError naming every field
 * at fault, so a caller can refuse a whole run before writing any of it.
 */
export const validateServiceDrafts = (drafts: readonly unknown[]): EventDraft[] => {
  const parsed = serviceEventsSchema.safeParse(drafts);
  if (!parsed.success) return throwProblems(problemsOf(parsed.error.issues, ['events']));
  return checkContent(parsed.data as EventDraft[], ['events']);
};

/** Validates a bare array of events (the EventBridge detail's `events`). */
export const parseEvents = (events: unknown, options: ParseEventsOptions): EventDraft[] => {
  const prefix = [options.prefix ?? 'events'];
  const parsed = bodySchema.shape.events.safeParse(events);
  if (!parsed.success) return throwProblems(problemsOf(parsed.error.issues, prefix));
  return checkContent(checkTimestamps(parsed.data as EventDraft[], options, prefix), prefix);
};

/** Content rules zod does not express: those of the free-form `additional_information`. */
const checkContent = (drafts: EventDraft[], prefix: readonly PropertyKey[]): EventDraft[] => {
  const problems = drafts.flatMap((draft, index) => {
    if (draft.additional_information === undefined) return [];
    const problem = jsonValueProblem(draft.additional_information, INGEST_LIMITS.additionalInformationDepth);
    return problem
      ? [
          {
            field: `${fieldName([...prefix, index, 'additional_information'])}${problem.path}`,
            message: problem.message,
          },
        ]
      : [];
  });
  if (problems.length > 0) throwProblems(problems);
  return drafts;
};

const checkTimestamps = (
  drafts: EventDraft[],
  options: ParseEventsOptions,
  prefix: readonly PropertyKey[],
): EventDraft[] => {
  if (options.allowTimestamps) return drafts;
  const problems = drafts.flatMap((draft, index) =>
    draft.timestamp === undefined
      ? []
      : [
          {
            field: fieldName([...prefix, index, 'timestamp']),
            message: 'may only be set with an admin token (importing history); leave it out',
          },
        ],
  );
  if (problems.length > 0) throwProblems(problems);
  return drafts;
};

/**
 * SHA-256 of the body's canonical JSON (RFC 8785), so an Idempotency-Key retry matches its first
 * request whatever the key order or whitespace, and a different body under the same key does not.
 */
export const bodyHash = (body: unknown): string => {
  let canonical: string;
  try {
    canonical = canonicalJson(body) ?? '';
  } catch {
    // Only reachable for a body validation let through; still the caller's input, never a 500.
    throw new BadRequestError('body has no RFC 8785 canonical form', { field: 'body' });
  }
  return oneShotHash('sha256', canonical, 'hex');
};

/** Idempotency keys: 1–128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,128}$/;
