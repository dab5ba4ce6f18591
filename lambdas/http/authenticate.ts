import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { UnauthorizedError } from '../domain/errors.js';
import { type Principal, SCOPES, type Scope } from '../domain/scopes.js';
import { type Authenticator, requireScope, requireWholeTenant } from '../use-cases/authenticate.js';
import type { RequestContext } from './context.js';
import { extractCredential } from './credentials.js';
import { CREDENTIAL_SOURCES, MISSING_CREDENTIAL_MESSAGE } from './dialects.js';
import { lowerCaseHeaders } from './request.js';
import { requestState } from './request-state.js';

/** The principal the Lambda authorizer resolved, when it resolved one. */
export const principalFromAuthorizer = (event: APIGatewayProxyEvent): Principal | undefined => {
  const authorizer = event.requestContext?.authorizer;
  if (!authorizer || typeof authorizer.tenant !== 'string' || typeof authorizer.tokenId !== 'string')
    return undefined;
  const scopes = String(authorizer.scopes ?? '')
    .split(',')
    .filter((scope): scope is Scope => (SCOPES as readonly string[]).includes(scope));
  return {
    tenant: authorizer.tenant,
    tokenId: authorizer.tokenId,
    tokenName: String(authorizer.tokenName ?? authorizer.tokenId),
    scopes,
    ...(typeof authorizer.actor === 'string' && authorizer.actor !== '' ? { actor: authorizer.actor } : {}),
  };
};

/**
 * Requires an authenticated caller holding `scope`. The authorizer's answer is used when there is
 * one (it looks only where the path's dialect takes credentials); otherwise (a form-encoded
 * `auth_token`, which authorizers cannot see, or no authorizer at all) the credential is resolved
 * here, from the dialect's sources only (CREDENTIAL_SOURCES). 401 and 403 come out in the
 * dialect's error shape.
 *
 * A token narrowed to one actor is refused (403) unless the endpoint says it confines its reads to
 * `principal.actor` (`narrowsToActor`): an endpoint that does not know about narrowing can never
 * hand such a token the whole tenant's entries.
 */
export const authenticate = (options: {
  scope: Scope;
  narrowsToActor?: boolean;
  /** The resolver of credentials (the composition root's, per configuration). */
  authenticator: () => Promise<Pick<Authenticator, 'authenticate'>>;
}): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext> => ({
  before: async (request) => {
    const { event, context } = request;
    let principal = principalFromAuthorizer(event);
    if (!principal) {
      const credential = extractCredential(
        lowerCaseHeaders(event),
        context.query,
        context.form,
        CREDENTIAL_SOURCES[context.dialect],
      );
      if (!credential) throw new UnauthorizedError(MISSING_CREDENTIAL_MESSAGE[context.dialect]);
      requestState(request).credential = credential;
      principal = await (await options.authenticator()).authenticate(credential);
    }
    context.principal = principal;
    requestState(request).principal = principal;
    requireScope(principal, options.scope);
    if (!options.narrowsToActor) requireWholeTenant(principal);
  },
});
