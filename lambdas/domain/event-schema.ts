import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { BadRequestError } from './errors.js';
import { isEncodableTimestamp, MAX_ID_TIMESTAMP_MS } from './ids.js';
import { API_REQUEST_ACTION, type EventDraft, SERVICE_CATEGORY } from './record.js';
import { isReservedActionType, isReservedApiKeyId, isReservedCategory } from './reserved.js';
import * as z from './zod.js';

/**
 * The schema of events producers send (HTTP ingest and the EventBridge path). Limits keep one
 * entry well under DynamoDB's 400 KB item size and stop a producer from bloating pages:
 *
 * - `action_type`: 1–128 characters of `A-Z a-z 0-9 _ . : -` (it becomes an index key and a filter);
 *   `api_request` and `audit_trail…` are reserved for this service's own records (see reserved.ts).
 * - `category` "Audit trail" and `api_key.id` values shaped like this service's token or kore app
 *   ids are reserved too, in any case or spelling.
 * - `message`: at most 8 KB (UTF-8).
 * - every other string: at most 1 KB (UTF-8).
 * - `additional_information`: any JSON value, at most 16 KB once serialised.
 * - `request.query_parameters`: at most 50 parameters.
 * - `timestamp` (epoch ms, integer, 2000-01-01 … 2278): only when the caller may import history.
 * - unknown keys are rejected, at every level.
 */
export const INGEST_LIMITS = {
  maxEvents: 100,
  maxBodyBytes: 1024 * 1024,
  actionTypeChars: 128,
  messageBytes: 8 * 1024,
  stringBytes: 1024,
  additionalInformationBytes: 16 * 1024,
  queryParameters: 50,
} as const;

const ACTION_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const encoder = new TextEncoder();
const byteLength = (text: string): number => encoder.encode(text).length;

const boundedString = (maxBytes: number) =>
  z
    .string({ error: 'must be a string' })
    .check(z.refine((text) => byteLength(text) <= maxBytes, `must be at most ${maxBytes} bytes`));

const text = boundedString(INGEST_LIMITS.stringBytes);

const jsonText = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
};

const eventSchema = z.strictObject({
  action_type: z.string({ error: 'is required and must be a string' }).check(
    z.regex(
      ACTION_TYPE_PATTERN,
      `must be 1-${INGEST_LIMITS.actionTypeChars} characters of letters, digits, "_", ".", ":" or "-"`,
    ),
    z.refine(
      (action) => !isReservedActionType(action),
      `"${API_REQUEST_ACTION}" and "audit_trail…" (in any case or spelling) are reserved for this service's own records`,
    ),
  ),
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
        (category) => !isReservedCategory(category),
        `"${SERVICE_CATEGORY}" (in any case or spelling) is reserved for this service's own records`,
      ),
    ),
  ),
  message: z.optional(boundedString(INGEST_LIMITS.messageBytes)),
  // The actor index finds this service's API keys' calls by their id: a user of that shape would mix in.
  user: z.optional(
    text.check(
      z.refine(
        (user) => !isReservedApiKeyId(user),
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
        return serialised !== undefined && byteLength(serialised) <= INGEST_LIMITS.additionalInformationBytes;
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
        .record(z.string(), text)
        .check(
          z.refine(
            (parameters) => Object.keys(parameters).length <= INGEST_LIMITS.queryParameters,
            `must have at most ${INGEST_LIMITS.queryParameters} parameters`,
          ),
        ),
      error: z.optional(text),
    }),
  ),
  api_key: z.optional(
    z.strictObject({
      id: text.check(
        z.refine(
          (id) => !isReservedApiKeyId(id),
          'must not look like this service\'s own token ids ("tok_…") or kore app ids ("cs-…")',
        ),
      ),
      name: text,
    }),
  ),
});

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
  return checkTimestamps(parsed.data.events as EventDraft[], options, ['events']);
};

/** Validates a bare array of events (the EventBridge detail's `events`). */
export const parseEvents = (events: unknown, options: ParseEventsOptions): EventDraft[] => {
  const prefix = [options.prefix ?? 'events'];
  const parsed = bodySchema.shape.events.safeParse(events);
  if (!parsed.success) return throwProblems(problemsOf(parsed.error.issues, prefix));
  return checkTimestamps(parsed.data as EventDraft[], options, prefix);
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
  const canonical = canonicalize(body) ?? '';
  return createHash('sha256').update(canonical).digest('hex');
};

/** Idempotency keys: 1–128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,128}$/;
