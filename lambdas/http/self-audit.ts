import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { isAuditTrailError } from '../domain/errors.js';
import { API_REQUEST_ACTION, type EventDraft } from '../domain/record.js';
import type { Principal } from '../domain/scopes.js';
import { getServices, type Services } from '../services.js';
import { extractCredential } from '../use-cases/authenticate.js';
import { principalFromAuthorizer } from './authenticate.js';
import { log } from './log.js';
import { lowerCaseHeaders, queryParameters } from './request.js';

/**
 * The tenant that records calls made without a usable credential. '#' is not allowed in tenant
 * names (see isValidTenant), so no token can ever belong to it; operators read it directly.
 */
export const UNAUTHENTICATED_TENANT = '#unauthenticated';

/** The service area self-audit records are filed under (their `category`). */
export const SELF_AUDIT_CATEGORY = 'Audit trail';

export const REDACTED = '[REDACTED]';

/** Parameter names that carry credentials, in any case, with any prefix or suffix. */
const CREDENTIAL_NAME =
  /(auth|token|secret|passw|pwd|api[-_]?key|^key$|[-_.]key$|jwt|signature|^sig$|credential|session|cookie|x-amz-)/i;
/** Values that look like a JWT or a bearer credential, whatever their parameter is called. */
const CREDENTIAL_VALUE = /(^eyJ[\w-]+\.[\w-]+\.|^bearer\s|^ats_)/i;

const MAX_PARAMETERS = 50;
const MAX_TEXT = 1024;
const clip = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

/**
 * The query parameters as recorded: credentials (by name, by shape, or equal to the credential
 * the request carried) replaced by "[REDACTED]", values clipped to 1 KB, at most 50 parameters.
 */
export const redactQueryParameters = (
  parameters: Readonly<Record<string, string>>,
  credential?: string,
): Record<string, string> => {
  const recorded = Object.entries(parameters)
    .slice(0, MAX_PARAMETERS)
    .map(([name, value]): [string, string] => {
      const secret =
        CREDENTIAL_NAME.test(name) ||
        CREDENTIAL_VALUE.test(value) ||
        (credential !== undefined && credential.length > 0 && value.includes(credential));
      return [clip(name), secret ? REDACTED : clip(value)];
    });
  // fromEntries defines own properties, so a parameter named `__proto__` is kept, not swallowed.
  return Object.fromEntries(recorded);
};

type AnyRequest = Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

/** The error message the caller was shown, read from the response when no error was thrown. */
const errorMessageOf = (request: AnyRequest, status: number): string | undefined => {
  if (status < 400) return undefined;
  const { error } = request;
  if (error) return isAuditTrailError(error) ? error.message : 'Internal error';
  try {
    const body = JSON.parse(request.response?.body ?? '') as {
      message?: unknown;
      errors?: { msg?: unknown }[];
    };
    if (typeof body.message === 'string') return body.message;
    if (typeof body.errors?.[0]?.msg === 'string') return body.errors[0].msg;
  } catch {
    // Not JSON: the status alone says what happened.
  }
  return undefined;
};

const principalOfRequest = async (
  request: AnyRequest,
  services: Services,
  credential: string | undefined,
): Promise<Principal | undefined> => {
  const fromContext = (request.context as { principal?: Principal }).principal;
  if (fromContext) return fromContext;
  const fromAuthorizer = principalFromAuthorizer(request.event);
  if (fromAuthorizer) return fromAuthorizer;
  if (credential === undefined) return undefined;
  // Endpoints without authentication (the 404 fallback): file the call under the token's tenant.
  try {
    return await services.authenticator.authenticate({
      kind: 'token',
      value: credential,
      source: 'x-api-key',
    });
  } catch {
    return undefined;
  }
};

/** The api-key-dialect entry recording one call to this service. */
export const apiRequestDraft = (input: {
  event: APIGatewayProxyEvent;
  status: number;
  principal: Principal | undefined;
  credential: string | undefined;
  error: string | undefined;
}): EventDraft => {
  const { event, status, principal } = input;
  const uri = clip(event.path ?? '/');
  const method = clip(event.httpMethod ?? 'GET');
  return {
    action_type: API_REQUEST_ACTION,
    category: SELF_AUDIT_CATEGORY,
    message: `${method} ${uri} ${status}`,
    user_ip: clip(event.requestContext?.identity?.sourceIp ?? 'unknown'),
    // No `user`: the api-key dialect filters by api key id on the actor index (user ?? api_key.id).
    ...(principal ? { api_key: { id: principal.tokenId, name: clip(principal.tokenName) } } : {}),
    request: {
      uri,
      method,
      status,
      query_parameters: redactQueryParameters(queryParameters(event), input.credential),
      ...(input.error !== undefined ? { error: clip(input.error) } : {}),
    },
  };
};

const record = async (request: AnyRequest): Promise<void> => {
  try {
    const status = request.response?.statusCode ?? 500;
    const services = await getServices();
    const query = queryParameters(request.event);
    const credential = extractCredential(lowerCaseHeaders(request.event), query)?.value;
    const principal = await principalOfRequest(request, services, credential);
    const draft = apiRequestDraft({
      event: request.event,
      status,
      principal,
      credential,
      error: errorMessageOf(request, status),
    });
    await services.events.append(principal?.tenant ?? UNAUTHENTICATED_TENANT, [draft]);
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
 * in the request can turn it off; headers and bodies are never recorded.
 */
export const selfAudit = (): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context> => ({
  after: async (request) => record(request),
  onError: async (request) => record(request),
});
