import * as z from 'zod';
import { koreSpan, parseKoreDate } from '../domain/date-range.js';
import { BadRequestError } from '../domain/errors.js';
import { firstIdAt, lastIdAt, MAX_ID } from '../domain/ids.js';
import { toKoreEntry } from '../domain/kore-view.js';
import { principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { koreAuditLogs } from '../use-cases/kore-auditlogs.js';

const DATE_MESSAGE = 'must be a date as yyyy-mm-dd or yyyy-mm-ddThh:mm:ss.sssZ (UTC)';
const koreDate = (field: string) =>
  z
    .string()
    .transform((text, context) => {
      const span = parseKoreDate(text.trim());
      if (!span) context.addIssue({ code: 'custom', message: `${field} ${DATE_MESSAGE}` });
      return span ?? { start: 0, end: 0 };
    })
    .optional();

/** `GET /api/public/auditlogs` parameters (seed 002). Other parameters are ignored, as Kore does. */
const parameters = z.object({
  size: z
    .string()
    .regex(/^\d{1,3}$/, 'size must be an integer between 1 and 100')
    .transform(Number)
    .refine((size) => size >= 1 && size <= 100, 'size must be an integer between 1 and 100')
    .optional(),
  offset: z
    .string()
    .regex(/^\d{1,9}$/, 'offset must be a page number: an integer from 0')
    .transform(Number)
    .optional(),
  fromDate: koreDate('fromDate'),
  toDate: koreDate('toDate'),
  fetchAfter: z
    .string()
    .regex(/^\d{1,16}$/, 'fetchAfter must be an AuditLogId returned by this API')
    .transform(Number)
    .refine(Number.isSafeInteger, 'fetchAfter must be an AuditLogId returned by this API')
    .optional(),
});

/** The seed's sample request asks for 50. */
const DEFAULT_SIZE = 50;

export const handler = httpHandler({ dialect: 'kore', scope: 'read' }, async (_event, context) => {
  const parsed = parameters.safeParse(context.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(issue?.message ?? 'Invalid parameters', {
      field: String(issue?.path[0] ?? ''),
    });
  }
  const { size, offset, fromDate, toDate, fetchAfter } = parsed.data;
  const span = koreSpan(fromDate, toDate);
  const minId = Math.max(
    fromDate || toDate ? firstIdAt(span.start) : 0,
    fetchAfter === undefined ? 0 : fetchAfter + 1,
  );
  const maxId = toDate || fromDate ? lastIdAt(span.end) : MAX_ID;
  const page = await koreAuditLogs(context.services, {
    tenant: principalOf(context).tenant,
    minId,
    maxId,
    size: size ?? DEFAULT_SIZE,
    offset: offset ?? 0,
  });
  return jsonResponse(200, {
    total: page.total,
    auditlogs: page.records.map(toKoreEntry),
    moreAvailable: page.moreAvailable,
  });
});
