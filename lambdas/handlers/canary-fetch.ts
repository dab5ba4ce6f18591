import { type CanaryFetchDependencies, canaryFetchDependencies } from '../composition/browse.js';
import { environmentConfig } from '../composition/environment.js';
import { toCanaryEntry } from '../domain/canary-view.js';
import { BadRequestError } from '../domain/errors.js';
import { firstIdAt, lastIdAt } from '../domain/ids.js';
import { isKnownTimeZone } from '../domain/time.js';
import * as z from '../domain/zod.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { dateParameter, integerParameter } from '../http/parameters.js';
import type { PagedSelector } from '../ports/event-store.js';
import { browsePages } from '../use-cases/browse-pages.js';
import { INCLUSION_PROOFS, pageProofs } from '../use-cases/tlog-page-proofs.js';

const LIMIT_MESSAGE = 'limit must be an integer between 1 and 1000';

const PROOFS_MESSAGE = `proofs must be "${INCLUSION_PROOFS}" (the page's inclusion proofs)`;

const DATE_MESSAGE = 'must be a date (yyyy-mm-dd, a whole UTC day) or a UTC time (yyyy-mm-ddThh:mm:ss.sssZ)';

/**
 * `GET /api/v1/audit_trail/fetch` (seeds 000 and 001), plus this service's `user_filter` (the
 * actor index) and `from`/`to` (an id range), each a key condition like `action_filter`.
 */
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
  user_filter: z.optional(
    z
      .string()
      .check(z.minLength(1, 'user_filter must not be empty'), z.maxLength(256, 'user_filter is too long')),
  ),
  from: dateParameter('from', DATE_MESSAGE),
  to: dateParameter('to', DATE_MESSAGE),
  tz: z.optional(
    z.string().check(
      z.refine(isKnownTimeZone, {
        error: (issue) =>
          `tz "${String(issue.input).slice(0, 64)}" is not a known time zone name (e.g. Europe/London)`,
      }),
    ),
  ),
  proofs: z.optional(z.enum([INCLUSION_PROOFS], { error: PROOFS_MESSAGE })),
});

const DEFAULT_LIMIT = 100;

const emptyPage = {
  audit_trail: [],
  cursor: { next: null, prev: null },
  page_count: 1,
  page_number: 1,
  result: 'success',
};

/** Reads confined to `principal.actor` when the token is narrowed to one actor. */
const ENDPOINT = { dialect: 'canary', scope: 'read', narrowsToActor: true } as const;

export const makeHandler = (dependencies: DependenciesProvider<CanaryFetchDependencies>) =>
  httpHandler(ENDPOINT, dependencies, async (_event, context, deps) => {
    const parsed = parameters.safeParse(context.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadRequestError(issue?.message ?? 'Invalid parameters', {
        field: String(issue?.path[0] ?? ''),
      });
    }
    const { limit, cursor, action_filter, user_filter, from, to, tz, proofs } = parsed.data;
    if (limit !== undefined && cursor !== undefined) {
      throw new BadRequestError(
        'limit cannot be used with a cursor: the cursor keeps the page size of its first page',
        {
          field: 'limit',
        },
      );
    }
    if (from && to && from.start > to.end)
      throw new BadRequestError('to must not be before from', { field: 'to' });
    const principal = principalOf(context);
    // A token narrowed to one actor reads through the actor index only, whatever was asked.
    const actor = principal.actor ?? user_filter;
    if (actor !== undefined && action_filter !== undefined) {
      throw new BadRequestError(
        principal.actor !== undefined
          ? "action_filter is not available to a token that reads one actor's entries: no index serves both"
          : 'action_filter cannot be combined with user_filter: no index serves both',
        { field: 'action_filter' },
      );
    }
    if (principal.actor !== undefined && user_filter !== undefined && user_filter !== principal.actor) {
      // Another actor's entries: none that this token may see.
      return jsonResponse(200, {
        ...emptyPage,
        ...(proofs ? { tlog: await pageProofs(deps.tlog(), principal.tenant, []) } : {}),
      });
    }
    const selector: PagedSelector =
      actor !== undefined
        ? { kind: 'actor', actor }
        : action_filter !== undefined
          ? { kind: 'action', action: action_filter }
          : { kind: 'all' };
    const page = await browsePages(await deps.browse(), {
      tenant: principal.tenant,
      selector,
      ...(from ? { minId: firstIdAt(from.start) } : {}),
      ...(to ? { maxId: lastIdAt(to.end) } : {}),
      pageSize: limit ?? DEFAULT_LIMIT,
      ...(cursor !== undefined ? { cursor } : {}),
      binding: 'canary',
      cursorField: 'cursor',
    });
    return jsonResponse(200, {
      audit_trail: page.records.map((record) => toCanaryEntry(record, tz)),
      cursor: { next: page.next, prev: page.prev },
      page_count: page.pageCount,
      page_number: page.pageNumber,
      result: 'success',
      // Only when asked: the dialect's default answer stays the seed's.
      ...(proofs ? { tlog: await pageProofs(deps.tlog(), principal.tenant, page.records) } : {}),
    });
  });

export const handler = makeHandler(() => canaryFetchDependencies(environmentConfig()));
