import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { UnauthorizedError } from '../domain/errors.js';
import { type Principal, SCOPES, type Scope } from '../domain/scopes.js';
import { extractCredential, requireScope } from '../use-cases/authenticate.js';
import type { RequestContext } from './context.js';
import type { Dialect } from './dialects.js';
import { lowerCaseHeaders } from './request.js';

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
  };
};

/**
 * Requires an authenticated caller holding `scope`. The authorizer's answer is used when there is
 * one; otherwise (a form-encoded `auth_token`, which authorizers cannot see, or no authorizer at
 * all) the credential is resolved here. 401 and 403 come out in the dialect's error shape.
 */
export const authenticate = (options: {
  scope: Scope;
  dialect?: Dialect;
}): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RequestContext> => ({
  before: async (request) => {
    const { event, context } = request;
    let principal = principalFromAuthorizer(event);
    if (!principal) {
      const credential = extractCredential(lowerCaseHeaders(event), context.query, context.form);
      // Kore clients send their JWT in the `auth` header (seed 002): name it, not the token forms.
      if (!credential && options.dialect === 'kore')
        throw new UnauthorizedError('No credentials were provided: send the JWT in the auth header');
      principal = await context.services.authenticator.authenticate(credential);
    }
    context.principal = principal;
    requireScope(principal, options.scope);
  },
});
