import { getCursorKey } from '../cursor-key.js';
import { toCanaryEntry } from '../domain/canary-view.js';
import { BadRequestError } from '../domain/errors.js';
import { isKnownTimeZone } from '../domain/time.js';
import * as z from '../domain/zod.js';
import { principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { integerParameter } from '../http/parameters.js';
import { browsePages } from '../use-cases/browse-pages.js';

const LIMIT_MESSAGE = 'limit must be an integer between 1 and 1000';

/** `GET /api/v1/audit_trail/fetch` (seeds 000 and 001). */
const parameters = z.object({
  limit: z.optional(integerParameter(1, 1000, LIMIT_MESSAGE)),
  cursor: z.optional(z.string().check(z.minLength(1, 'cursor must not be empty'))),
  action_filter: z.optional(
    z
      .string()
      .check(
        z.minLength(1, 'action_filter must not be empty'),
        z.maxLength(128, 'action_filter is too long'),
      ),
  ),
  tz: z.optional(
    z.string().check(
      z.refine(isKnownTimeZone, {
        error: (issue) =>
          `tz "${String(issue.input).slice(0, 64)}" is not a known time zone name (e.g. Europe/London)`,
      }),
    ),
  ),
});

const DEFAULT_LIMIT = 100;

export const handler = httpHandler({ dialect: 'canary', scope: 'read' }, async (_event, context) => {
  const parsed = parameters.safeParse(context.query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadRequestError(issue?.message ?? 'Invalid parameters', {
      field: String(issue?.path[0] ?? ''),
    });
  }
  const { limit, cursor, action_filter, tz } = parsed.data;
  if (limit !== undefined && cursor !== undefined) {
    throw new BadRequestError(
      'limit cannot be used with a cursor: the cursor keeps the page size of its first page',
      {
        field: 'limit',
      },
    );
  }
  const { services } = context;
  const page = await browsePages(
    {
      events: services.events,
      counters: services.counters,
      cursorKey: await getCursorKey(services.config),
      cursorTtlSeconds: services.config.CURSOR_TTL_SECONDS,
      clock: services.clock,
    },
    {
      tenant: principalOf(context).tenant,
      selector: action_filter === undefined ? { kind: 'all' } : { kind: 'action', action: action_filter },
      pageSize: limit ?? DEFAULT_LIMIT,
      ...(cursor !== undefined ? { cursor } : {}),
      binding: 'canary',
      cursorField: 'cursor',
    },
  );
  return jsonResponse(200, {
    audit_trail: page.records.map((record) => toCanaryEntry(record, tz)),
    cursor: { next: page.next, prev: page.prev },
    page_count: page.pageCount,
    page_number: page.pageNumber,
    result: 'success',
  });
});
