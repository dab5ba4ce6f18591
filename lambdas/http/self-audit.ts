import { randomUUID } from 'node:crypto';
import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { log } from '../adapters/log.js';
import { isAuditTrailError } from '../domain/errors.js';
import { API_REQUEST_ACTION, type EventDraft, SERVICE_CATEGORY } from '../domain/record.js';
import { CREDENTIAL_NAME, createRedactor, REDACTED, type Redactor } from '../domain/redaction.js';
import type { Principal } from '../domain/scopes.js';
import { UNAUTHENTICATED_TENANT } from '../domain/tokens.js';
import { principalFromAuthorizer } from './authenticate.js';
import type { DependenciesProvider, HttpDependencies } from './context.js';
import { extractCredential } from './credentials.js';
import { requestRedactor } from './redact-answers.js';
import { lowerCaseHeaders, queryParameters } from './request.js';
import { type RequestState, requestState } from './request-state.js';

export { UNAUTHENTICATED_TENANT } from '../domain/tokens.js';

/** The service area self-audit records are filed under (their `category`). */
export const SELF_AUDIT_CATEGORY = SERVICE_CATEGORY;

export { REDACTED } from '../domain/redaction.js';

/** What one self-audit record may hold: parameters recorded, and bytes (UTF-8) per text. */
export interface RecordLimits {
  readonly parameters: number;
  readonly nameBytes: number;
  readonly valueBytes: number;
  readonly uriBytes: number;
  readonly errorBytes: number;
}

/** A caller with a credential pays for its own records: generous limits. */
export const AUTHENTICATED_LIMITS: RecordLimits = {
  parameters: 50,
  nameBytes: 1024,
  valueBytes: 1024,
  uriBytes: 1024,
  errorBytes: 1024,
};

/**
 * Anyone can call without a credential, so what such a call stores is small and bounded: at most
 * 10 parameters of 64-byte names and 128-byte values, a 256-byte path and error; longer texts end
 * in "…" and left-out parameters (past 10, or the same name once clipped) are counted under the
 * name "…". A record of the reserved tenant stays under 4 KB whatever the request (docs/ingest.md).
 */
export const UNAUTHENTICATED_LIMITS: RecordLimits = {
  parameters: 10,
  nameBytes: 64,
  valueBytes: 128,
  uriBytes: 256,
  errorBytes: 256,
};

/** The name under which a record says how many parameters it left out. */
export const OMITTED_PARAMETERS = '…';

const ELLIPSIS = '…';

/** `text` cut to at most `maxBytes` of UTF-8 (on a character boundary), ending in "…" when cut. */
export const clipBytes = (text: string, maxBytes: number): string => {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(ELLIPSIS, 'utf8');
  let clipped = '';
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character, 'utf8');
    if (bytes + size > budget) break;
    clipped += character;
    bytes += size;
  }
  return `${clipped}${ELLIPSIS}`;
};

/**
 * The query parameters as recorded: credentials redacted wherever they are (a credential-named
 * parameter's value whole; in names and other values by shape or as the exact credential the
 * request carried), then names and values clipped and the count bounded by `limits`.
 */
export const redactQueryParameters = (
  parameters: Readonly<Record<string, string>>,
  redactor: Redactor = createRedactor(),
  limits: RecordLimits = AUTHENTICATED_LIMITS,
): Record<string, string> => {
  const recorded = new Map<string, string>();
  let omitted = 0;
  for (const [name, value] of Object.entries(parameters)) {
    const recordedName = clipBytes(redactor.text(name), limits.nameBytes);
    // Past the limit, or the same name once clipped or redacted: counted, not recorded.
    if (recorded.size >= limits.parameters || recorded.has(recordedName)) {
      omitted += 1;
      continue;
    }
    recorded.set(
      recordedName,
      CREDENTIAL_NAME.test(name) ? REDACTED : clipBytes(redactor.text(value), limits.valueBytes),
    );
  }
  if (omitted > 0) recorded.set(OMITTED_PARAMETERS, `${omitted} more parameters not recorded`);
  // fromEntries defines own properties, so a parameter named `__proto__` is kept, not swallowed.
  return Object.fromEntries(recorded);
};

type AnyRequest = Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

/**
 * The error message the caller was shown, as the dialect error mapping recorded it; a thrown error
 * it did not map (the answer was set already) is filed by its kind like an unexpected one.
 */
const errorMessageOf = (request: AnyRequest, state: RequestState, status: number): string | undefined => {
  if (status < 400) return undefined;
  if (state.shownError !== undefined) return state.shownError;
  const { error } = request;
  if (error) return isAuditTrailError(error) ? error.message : 'Internal error';
  return undefined;
};

/**
 * Who made the call: the principal authentication resolved, or the authorizer's. On endpoints
 * without authentication (the 404 fallback), the token the request carried in any form, so the
 * call is filed under its tenant. A credential the authenticate middleware already failed to
 * resolve is not looked up again.
 */
const principalOfRequest = async (
  request: AnyRequest,
  state: RequestState,
  dependencies: HttpDependencies,
  query: Readonly<Record<string, string>>,
): Promise<Principal | undefined> => {
  if (state.principal) return state.principal;
  const fromAuthorizer = principalFromAuthorizer(request.event);
  if (fromAuthorizer) return fromAuthorizer;
  const credential = extractCredential(lowerCaseHeaders(request.event), query)?.value;
  if (credential === undefined || credential === state.credential?.value) return undefined;
  try {
    return await dependencies.authenticator.authenticate({
      kind: 'token',
      value: credential,
      source: 'x-api-key',
    });
  } catch {
    return undefined;
  }
};

/**
 * The api-key-dialect entry recording one call to this service. Every text in it passes through
 * the request's redactor (credential shapes anywhere, and the exact credentials the request
 * carried), then is clipped to `limits`: the unauthenticated limits when there is no principal.
 */
export const apiRequestDraft = (input: {
  event: APIGatewayProxyEvent;
  status: number;
  principal: Principal | undefined;
  redactor: Redactor;
  error: string | undefined;
  /** The query parameters, when an earlier middleware parsed them already. */
  query?: Readonly<Record<string, string>>;
}): EventDraft => {
  const { event, status, principal, redactor } = input;
  const limits = principal ? AUTHENTICATED_LIMITS : UNAUTHENTICATED_LIMITS;
  const text = (value: string, maxBytes: number) => clipBytes(redactor.text(value), maxBytes);
  const uri = text(event.path ?? '/', limits.uriBytes);
  const method = text(event.httpMethod ?? 'GET', 16);
  return {
    action_type: API_REQUEST_ACTION,
    category: SELF_AUDIT_CATEGORY,
    message: `${method} ${uri} ${status}`,
    user_ip: text(event.requestContext?.identity?.sourceIp ?? 'unknown', 64),
    // No `user`: the api-key dialect filters by api key id on the actor index (user ?? api_key.id).
    ...(principal
      ? { api_key: { id: principal.tokenId, name: text(principal.tokenName, limits.nameBytes) } }
      : {}),
    request: {
      uri,
      method,
      status,
      query_parameters: redactQueryParameters(input.query ?? queryParameters(event), redactor, limits),
      ...(input.error !== undefined ? { error: text(input.error, limits.errorBytes) } : {}),
    },
  };
};

const record = async (
  request: AnyRequest,
  dependencies: DependenciesProvider<HttpDependencies>,
): Promise<void> => {
  try {
    // The call's time: the entry keeps it however late the consumer stores it.
    const timestamp = Date.now();
    const status = request.response?.statusCode ?? 500;
    const resolved = await dependencies();
    const state = requestState(request);
    const query = state.query ?? queryParameters(request.event);
    const principal = await principalOfRequest(request, state, resolved, query);
    const draft = apiRequestDraft({
      event: request.event,
      status,
      principal,
      redactor: requestRedactor(request.event),
      error: errorMessageOf(request, state, status),
      query,
    });
    // Handed over synchronously, before the answer goes out: a function that dies right after
    // answering has left its record behind. The key (one invocation, one record) makes a repeated
    // delivery store it once.
    resolved.selfAudit.hand({
      key: request.context?.awsRequestId || randomUUID(),
      tenant: principal?.tenant ?? UNAUTHENTICATED_TENANT,
      draft: { ...draft, timestamp },
    });
  } catch (error) {
    // Recording must never change the caller's answer. Log the failure's kind only: messages of
    // store errors can quote item values.
    log.error('self-audit record failed', { error: error instanceof Error ? error.name : 'unknown' });
  }
};

/**
 * Records every call as an `api_request` entry of the caller's tenant (unauthenticated calls under
 * UNAUTHENTICATED_TENANT): uri, method, status, redacted query parameters, error message, source
 * ip, api key id and name. Use it outermost, so it sees the final status, errors included. Nothing
 * in the request can turn it off; headers and bodies are never recorded. The record is handed to
 * the self-audit channel (a log line in Lambda, a journal file locally) before the answer goes
 * out, and stored in the events table behind the request path (docs/architecture.md).
 */
export const selfAudit = (
  dependencies: DependenciesProvider<HttpDependencies>,
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context> => ({
  after: async (request) => record(request, dependencies),
  onError: async (request) => record(request, dependencies),
});
