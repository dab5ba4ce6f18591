import { environmentConfig } from '../composition/environment.js';
import { type KoreAuditLogsDependencies, koreAuditLogsDependencies } from '../composition/kore-jwt.js';
import { koreSpan } from '../domain/date-range.js';
import { BadRequestError } from '../domain/errors.js';
import { firstIdAt, lastIdAt, MAX_ID } from '../domain/ids.js';
import { toKoreEntry } from '../domain/kore-view.js';
import * as z from '../domain/zod.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { dateParameter, integerParameter } from '../http/parameters.js';
import { koreAuditLogs } from '../use-cases/kore-auditlogs.js';
import { INCLUSION_PROOFS, pageProofs } from '../use-cases/tlog-page-proofs.js';

const DATE_MESSAGE = 'must be a date as yyyy-mm-dd or yyyy-mm-ddThh:mm:ss.sssZ (UTC)';

const SIZE_MESSAGE = 'size must be an integer between 1 and 100';
/** Pages beyond this start past the last id this service can allocate at any size. */
const MAX_OFFSET = 999_999_999;
const FETCH_AFTER_MESSAGE = 'fetchAfter must be an AuditLogId returned by this API';

/** `GET /api/public/auditlogs` parameters (seed 002). Other parameters are ignored, as Kore does. */
const parameters = z.object({
  size: z.optional(integerParameter(1, 100, SIZE_MESSAGE)),
  offset: z.optional(
    integerParameter(0, MAX_OFFSET, `offset must be a page number: an integer from 0 to ${MAX_OFFSET}`),
  ),
  fromDate: dateParameter('fromDate', DATE_MESSAGE),
  toDate: dateParameter('toDate', DATE_MESSAGE),
  fetchAfter: z.optional(integerParameter(0, MAX_ID, FETCH_AFTER_MESSAGE)),
  proofs: z.optional(
    z.enum([INCLUSION_PROOFS], {
      error: `proofs must be "${INCLUSION_PROOFS}" (the page's inclusion proofs)`,
    }),
  ),
});

/** The seed's sample request asks for 50. */
const DEFAULT_SIZE = 50;

/** Reads confined to `principal.actor` when the token is narrowed to one actor. */
const ENDPOINT = { dialect: 'kore', scope: 'read', narrowsToActor: true } as const;

export const makeHandler = (dependencies: DependenciesProvider<KoreAuditLogsDependencies>) =>
  httpHandler(ENDPOINT, dependencies, async (_event, context, deps) => {
    const parsed = parameters.safeParse(context.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadRequestError(issue?.message ?? 'Invalid parameters', {
        field: String(issue?.path[0] ?? ''),
      });
    }
    const { size, offset, fromDate, toDate, fetchAfter, proofs } = parsed.data;
    const span = koreSpan(fromDate, toDate);
    const minId = Math.max(
      fromDate || toDate ? firstIdAt(span.start) : 0,
      fetchAfter === undefined ? 0 : fetchAfter + 1,
    );
    const maxId = toDate || fromDate ? lastIdAt(span.end) : MAX_ID;
    const principal = principalOf(context);
    const page = await koreAuditLogs(deps.range, {
      tenant: principal.tenant,
      // A token narrowed to one actor reads through the actor index only.
      ...(principal.actor !== undefined ? { selector: { kind: 'actor', actor: principal.actor } } : {}),
      minId,
      maxId,
      size: size ?? DEFAULT_SIZE,
      offset: offset ?? 0,
    });
    return jsonResponse(200, {
      total: page.total,
      auditlogs: page.records.map(toKoreEntry),
      moreAvailable: page.moreAvailable,
      // Only when asked: the dialect's default answer stays the seed's.
      ...(proofs ? { tlog: await pageProofs(deps.tlog(), principal.tenant, page.records) } : {}),
    });
  });

export const handler = makeHandler(() => koreAuditLogsDependencies(environmentConfig()));
