import type { Context } from 'aws-lambda';
import { InvariantError } from '../domain/errors.js';
import type { Principal } from '../domain/scopes.js';
import type { SelfAuditChannel } from '../ports/self-audit-channel.js';
import type { Authenticator } from '../use-cases/authenticate.js';
import type { Dialect } from './dialects.js';

/** What the shared HTTP middleware chain needs; each endpoint's dependencies extend it. */
export interface HttpDependencies {
  /** Resolves credentials (the authenticate middleware; self-audit on unauthenticated endpoints). */
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
  /** Where each call's self-audit record is handed before the answer goes out. */
  readonly selfAudit: SelfAuditChannel;
  /** Origins whose browser pages may call the API (CORS); empty: CORS off. */
  readonly corsAllowOrigins: readonly string[];
}

/** Hands a handler its dependencies (built by the composition root, once per configuration). */
export type DependenciesProvider<D> = () => D | Promise<D>;

/** The Lambda context as our middlewares leave it for handlers. */
export interface RequestContext extends Context {
  dialect: Dialect;
  /** Set by the authenticate middleware; absent only on endpoints that need no credentials. */
  principal?: Principal;
  /** Query parameters, one value each. */
  query: Record<string, string>;
  /** Form fields of a form-encoded body. */
  form: Record<string, string>;
}

/** The principal of an authenticated request (the middleware guarantees one). */
export const principalOf = (context: RequestContext): Principal => {
  if (!context.principal) throw new InvariantError('authenticate() middleware missing from this handler');
  return context.principal;
};
