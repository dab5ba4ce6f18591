import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { log, withRequestLog } from '../adapters/log.js';
import { environmentConfig } from '../composition/environment.js';
import { type AuthorizerDependencies, authorizerDependencies } from '../composition/kore-jwt.js';
import { isAuditTrailError } from '../domain/errors.js';
import type { DependenciesProvider } from '../http/context.js';
import { extractCredential } from '../http/credentials.js';
import { CREDENTIAL_SOURCES, dialectOfPath } from '../http/dialects.js';
import { lowerCaseHeaders } from '../http/request.js';

/**
 * The API Gateway REQUEST authorizer. It resolves any accepted credential to the caller's tenant,
 * token id and scopes, and hands them to the endpoint as authorizer context.
 *
 * It allows every request through, authenticated or not: API Gateway's own 401 body would break
 * each dialect's error shape, and unauthenticated calls must still reach the endpoint to be
 * audited. Endpoints refuse what lacks a principal or scope, in their dialect's shape.
 */
export const makeHandler =
  (dependencies: DependenciesProvider<AuthorizerDependencies>) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const services = await dependencies();
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {}))
      if (value) query[name] = value;
    // Only where the route's dialect takes credentials (a kore route reads `auth` alone, …). The
    // resource template, not the path: behind a custom domain the path may carry a base path.
    const credential = extractCredential(
      lowerCaseHeaders({ headers: event.headers ?? {} }),
      query,
      {},
      CREDENTIAL_SOURCES[dialectOfPath(event.resource ?? event.path ?? '')],
    );
    let context: Record<string, string> = { authenticated: 'false' };
    let principalId = 'anonymous';
    if (credential) {
      try {
        const principal = await services.authenticator.authenticate(credential);
        principalId = principal.tokenId;
        context = {
          authenticated: 'true',
          tenant: principal.tenant,
          tokenId: principal.tokenId,
          tokenName: principal.tokenName,
          scopes: principal.scopes.join(','),
          // A narrowed token's actor travels with it, so the endpoint confines its reads to it.
          ...(principal.actor !== undefined ? { actor: principal.actor } : {}),
        };
      } catch (error) {
        if (!isAuditTrailError(error)) {
          log.error('authorizer failed', { error: error instanceof Error ? error.name : 'unknown' });
          throw error;
        }
      }
    }
    return {
      principalId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      context,
    };
  };

export const handler = withRequestLog(makeHandler(() => authorizerDependencies(environmentConfig())));
