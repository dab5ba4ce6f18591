import { type ApiKeyAuditTrailDependencies, apiKeyAuditTrailDependencies } from '../composition/api-key.js';
import { environmentConfig } from '../composition/environment.js';
import { toApiKeyEntry } from '../domain/api-key-view.js';
import { parseIsoDay } from '../domain/date-range.js';
import { BadRequestError, PayloadTooLargeError } from '../domain/errors.js';
import { firstIdAt, lastIdAt, MAX_ID } from '../domain/ids.js';
import { parseCanonicalInteger } from '../domain/integers.js';
import { createRedactor, credentialCandidates } from '../domain/redaction.js';
import { isReservedApiKeyId } from '../domain/reserved.js';
import { type DependenciesProvider, principalOf } from '../http/context.js';
import { jsonResponse } from '../http/dialects.js';
import { httpHandler } from '../http/http-handler.js';
import { lowerCaseHeaders } from '../http/request.js';
import { apiKeyPage } from '../use-cases/api-key-pages.js';
import { INCLUSION_PROOFS, PROOFS_PARAMETER, pageProofs } from '../use-cases/tlog-page-proofs.js';

/** `GET /api/v1/audit-trail` (seed 003). */
const PATH = '/api/v1/audit-trail';
const START = 'filter[startDate]';
const END = 'filter[endDate]';
const USER = 'filter[userApiKey._id]';
const SIZE = 'page[size]';
const CURSOR = 'page[cursor]';
const REDIRECT = 'allowRedirect';
/** This service's: the page's inclusion proofs in `meta.tlog` (`proofs=inclusion`). */
const PROOFS = PROOFS_PARAMETER;
/** The parameters in the order links repeat them. */
const KNOWN = [START, END, USER, SIZE, CURSOR, REDIRECT, PROOFS] as const;

/** Default and maximum page size (seed 003). */
export const MAX_PAGE_SIZE = 30_000;
/** Seed 003: a body over 1 MB is refused (413) or redirected (303). */
export const MAX_BODY_BYTES = 1024 * 1024;
const PRESIGN_SECONDS = 300;

interface Parsed {
  start?: number;
  end?: number;
  user?: string;
  size: number;
  cursor?: string;
  allowRedirect: boolean;
  proofs: boolean;
}

/** Every problem with the parameters at once, one per parameter (seed 003's 400 body). */
const parse = (query: Record<string, string>, credentials: readonly string[]): Parsed => {
  const problems: { field: string; message: string }[] = [];
  const parsed: Parsed = { size: MAX_PAGE_SIZE, allowRedirect: false, proofs: false };
  for (const name of Object.keys(query)) {
    if (!(KNOWN as readonly string[]).includes(name))
      problems.push({ field: name.slice(0, 100), message: `${name.slice(0, 100)} is not allowed` });
  }
  for (const [field, key] of [
    [START, 'start'],
    [END, 'end'],
  ] as const) {
    const text = query[field];
    if (text === undefined) continue;
    const day = parseIsoDay(text);
    if (!day) problems.push({ field, message: `${field} must be in iso format` });
    else parsed[key] = key === 'start' ? day.start : day.end;
  }
  if (parsed.start !== undefined && parsed.end !== undefined && parsed.start > parsed.end)
    problems.push({ field: END, message: `${END} must not be before ${START}` });
  const user = query[USER];
  if (user !== undefined) {
    if (user.length === 0 || user.length > 256)
      problems.push({ field: USER, message: `${USER} must be 1-256 characters` });
    // Links repeat the filter: a credential sent here by mistake would come back in every answer.
    else if (createRedactor(credentials).finds(user))
      problems.push({ field: USER, message: `${USER} must be an API key id, not a credential` });
    else parsed.user = user;
  }
  const size = query[SIZE];
  if (size !== undefined) {
    const value = parseCanonicalInteger(size, 1, MAX_PAGE_SIZE);
    if (value === undefined)
      problems.push({ field: SIZE, message: `${SIZE} must be an integer between 1 and ${MAX_PAGE_SIZE}` });
    else parsed.size = value;
  }
  const cursor = query[CURSOR];
  if (cursor !== undefined) {
    if (cursor.length === 0) problems.push({ field: CURSOR, message: `${CURSOR} must not be empty` });
    else parsed.cursor = cursor;
  }
  const redirect = query[REDIRECT];
  if (redirect !== undefined) {
    if (redirect !== 'true' && redirect !== 'false')
      problems.push({ field: REDIRECT, message: `${REDIRECT} must be true or false` });
    else parsed.allowRedirect = redirect === 'true';
  }
  const proofs = query[PROOFS];
  if (proofs !== undefined) {
    if (proofs !== INCLUSION_PROOFS)
      problems.push({
        field: PROOFS,
        message: `${PROOFS} must be "${INCLUSION_PROOFS}" (the page's inclusion proofs)`,
      });
    else parsed.proofs = true;
  }
  if (problems.length > 0) {
    throw new BadRequestError(problems.map((problem) => problem.message).join('; '), { problems });
  }
  return parsed;
};

/** A link to this endpoint with `parameters`, brackets left readable as in the seed's examples. */
const link = (parameters: Record<string, string | undefined>): string => {
  const pairs = KNOWN.flatMap((name) => {
    const value = parameters[name];
    return value === undefined ? [] : [`${name}=${encodeURIComponent(value)}`];
  });
  return pairs.length > 0 ? `${PATH}?${pairs.join('&')}` : PATH;
};

/**
 * Tokens narrowed to one actor are refused (403): this dialect lists API calls, whose actor is an
 * API key, never the person a narrowed token is for.
 */
export const makeHandler = (dependencies: DependenciesProvider<ApiKeyAuditTrailDependencies>) =>
  httpHandler({ dialect: 'apiKey', scope: 'read' }, dependencies, async (event, context, deps) => {
    // The filter's own name looks like a credential's (`…ApiKey…`): leave it out of the candidates.
    const { [USER]: _user, ...others } = context.query;
    const parameters = parse(context.query, credentialCandidates(lowerCaseHeaders(event), others));
    const tenant = principalOf(context).tenant;
    const foreignKey = parameters.user !== undefined && !isReservedApiKeyId(parameters.user);
    const filters = { [START]: context.query[START], [END]: context.query[END], [USER]: parameters.user };
    const page = await apiKeyPage(await deps.pages(), {
      tenant,
      // Only entries that record an API call: an index holds exactly those (no filter, no over-read).
      // Only this service's key ids (tok_…, kore app ids) can have made one; any other id selects none.
      selector:
        parameters.user === undefined ? { kind: 'apiCalls' } : { kind: 'apiCalls', actor: parameters.user },
      minId: foreignKey ? MAX_ID : parameters.start === undefined ? 0 : firstIdAt(parameters.start),
      maxId: foreignKey ? 0 : parameters.end === undefined ? MAX_ID : lastIdAt(parameters.end),
      pageSize: parameters.size,
      ...(parameters.cursor !== undefined ? { cursor: parameters.cursor } : {}),
      filters,
    });
    const linkParameters = {
      ...filters,
      [SIZE]: context.query[SIZE],
      [REDIRECT]: context.query[REDIRECT],
      [PROOFS]: context.query[PROOFS],
    };
    const body = JSON.stringify({
      data: page.records.map(toApiKeyEntry),
      links: {
        self: link({ ...linkParameters, [CURSOR]: parameters.cursor }),
        next: page.next === null ? null : link({ ...linkParameters, [CURSOR]: page.next }),
      },
      // Only when asked: the dialect's default answer stays the seed's.
      ...(parameters.proofs ? { meta: { tlog: await pageProofs(deps.tlog(), tenant, page.records) } } : {}),
    });
    if (Buffer.byteLength(body, 'utf8') <= MAX_BODY_BYTES) {
      return { ...jsonResponse(200, null), body };
    }
    if (!parameters.allowRedirect) throw new PayloadTooLargeError('Response size is greater than 1MB');
    const url = await deps.largeResponses().stash(tenant, body, {
      contentType: 'application/json; charset=utf-8',
      expiresInSeconds: PRESIGN_SECONDS,
    });
    return jsonResponse(303, { data: { url } }, { location: url });
  });

export const handler = makeHandler(() => apiKeyAuditTrailDependencies(environmentConfig()));
