import { API_REQUEST_ACTION, type EventDraft, SERVICE_CATEGORY } from './record.js';
import * as z from './zod.js';

/**
 * One self-audit record as the request hands it off: `key` names the call once and for all (the
 * Lambda request id), so a delivery that repeats stores it once; the draft carries the call's time
 * as its `timestamp`, so the entry keeps it however late it is stored.
 */
export interface SelfAuditRecord {
  readonly key: string;
  readonly tenant: string;
  readonly draft: EventDraft & { readonly timestamp: number };
}

/**
 * The marker of a self-audit line: its `selfAudit` field. The log subscription's filter matches it
 * (`{ $.selfAudit = "…" }`), and the consumer takes no line without it. The version names the
 * line's shape.
 */
export const SELF_AUDIT_MARKER = 'audit-trail.self-audit.v1';

/** The CloudWatch Logs filter pattern of self-audit lines (what the subscription sends on). */
export const SELF_AUDIT_FILTER_PATTERN = `{ $.selfAudit = "${SELF_AUDIT_MARKER}" }`;

/**
 * The longest line handed over, in bytes: CloudWatch Logs takes events of up to 256 KB, and Lambda
 * cuts a longer line into pieces that are no records. The record's texts are bounded (50
 * parameters of 1 KB names and values), but JSON escapes a control character into six bytes, so a
 * caller could otherwise push its own record past the limit and out of the trail.
 */
export const MAX_LINE_BYTES = 200_000;

/**
 * One self-audit record as one line of JSON (no newline inside: JSON escapes every control
 * character). The draft went through the request's redactor and limits already; the line holds
 * nothing else of the request (no header, no body, no credential). A line over MAX_LINE_BYTES
 * keeps everything but the query parameters, which are counted instead.
 */
export const selfAuditLine = (record: SelfAuditRecord): string => {
  const text = lineOf(record);
  const parameters = record.draft.request?.query_parameters;
  if (Buffer.byteLength(text, 'utf8') <= MAX_LINE_BYTES || !record.draft.request || !parameters) return text;
  const count = Object.keys(parameters).length;
  return lineOf({
    ...record,
    draft: {
      ...record.draft,
      request: {
        ...record.draft.request,
        query_parameters: { '…': `${count} parameters not recorded (the record was over the size limit)` },
      },
    },
  });
};

const lineOf = (record: SelfAuditRecord): string =>
  JSON.stringify({
    selfAudit: SELF_AUDIT_MARKER,
    key: record.key,
    tenant: record.tenant,
    draft: record.draft,
  });

/**
 * The shape of a line, built on first use: only the consumer parses lines, so the functions that
 * write them (every HTTP function) carry neither the schema nor the zod code it alone uses.
 */
const lineSchema = () =>
  z.object({
    selfAudit: z.literal(SELF_AUDIT_MARKER),
    key: z.string().check(z.minLength(1), z.maxLength(256)),
    tenant: z.string().check(z.minLength(1), z.maxLength(128)),
    // Only what the self-audit middleware writes: an API call's record in the service's category.
    draft: z.looseObject({
      timestamp: z.number().check(z.int(), z.positive()),
      action_type: z.literal(API_REQUEST_ACTION),
      category: z.literal(SERVICE_CATEGORY),
    }),
  });
let line: ReturnType<typeof lineSchema> | undefined;

/**
 * The record a line carries, or undefined for any other line (another log line, a line cut short,
 * a shape this version does not know): the consumer skips those instead of failing its batch.
 */
export const parseSelfAuditLine = (text: string): SelfAuditRecord | undefined => {
  if (!text.includes(SELF_AUDIT_MARKER)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  line ??= lineSchema();
  const parsed = line.safeParse(value);
  if (!parsed.success) return undefined;
  const { key, tenant, draft } = parsed.data;
  return { key, tenant, draft: draft as unknown as SelfAuditRecord['draft'] };
};
